"""Spotting credentials written in plain configuration.

A value in plain stack config is stored in the stack file, in the state and in every
plan in clear. `plain_credentials` finds the values that look like a credential (an AWS
access key id, a private key, a GitHub or Slack token, a password, a long random token in
a key named like one) so that the program can warn, naming the key: the fix is
`pulumi config set --secret`. A warning, not an error: a look-alike may be harmless.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from typing import Any

# What a value looks like when it is a credential, whatever its key is called.
CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    # `password: hunter2` inside a text value, e.g. an inline kubeconfig or values file.
    (
        "a password",
        re.compile(r"(?im)^\s*[\"']?(password|passwd)[\"']?\s*[:=]\s*[\"']?[^\s\"'{}\[\]$]+"),
    ),
)
# Keys whose literal value is a password, and keys whose long random value is a token.
PASSWORD_KEY = re.compile(r"(?i)(password|passwd|passphrase)")
TOKEN_KEY = re.compile(r"(?i)(token|secret|password|key)")
TOKEN_VALUE = re.compile(r"[A-Za-z0-9+/=_.\-]{20,}")
# Bits of Shannon entropy per character above which a long token reads as random: English
# words and names stay below it, base64 and hex keys stay above.
RANDOM_BITS_PER_CHAR = 3.5


def plain_credentials(
    config: Mapping[str, Any], secret_keys: Collection[str]
) -> list[tuple[str, str]]:
    """(key path, what it looks like) of every plain value of `config` (Pulumi config key
    -> parsed value) that looks like a credential, one per key path, sorted."""
    found: dict[str, str] = {}
    for key, value in sorted(config.items()):
        if key in secret_keys:
            continue
        for path, leaf_key, text in _strings(key, key.rsplit(":", 1)[-1], value):
            kind = looks_like(leaf_key, text)
            if kind and path not in found:
                found[path] = kind
    return sorted(found.items())


def looks_like(key: str, value: str) -> str | None:
    """What credential `value` (held under `key`) looks like, or None."""
    for kind, pattern in CREDENTIAL_PATTERNS:
        if pattern.search(value):
            return kind
    if PASSWORD_KEY.search(key) and value.strip():
        return "a password"
    if TOKEN_KEY.search(key) and TOKEN_VALUE.fullmatch(value) and _random(value):
        return "a token"
    return None


def _random(value: str) -> bool:
    has_letters = any(c.isalpha() for c in value)
    has_digits = any(c.isdigit() for c in value)
    return has_letters and has_digits and _bits_per_char(value) >= RANDOM_BITS_PER_CHAR


def _bits_per_char(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _strings(path: str, key: str, value: Any) -> Iterator[tuple[str, str, str]]:
    """(path, the key holding it, text) of every string inside `value`."""
    if isinstance(value, Mapping):
        for child_key, child in sorted(value.items(), key=lambda item: str(item[0])):
            yield from _strings(f"{path}.{child_key}", str(child_key), child)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(f"{path}[{index}]", key, child)
    elif isinstance(value, str):
        yield path, key, value
