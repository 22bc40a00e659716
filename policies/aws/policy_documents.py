"""IAM policy documents (permission, trust and bucket policies) as the AWS rules read them.

A document may be JSON text or an object (`PolicyDocumentArgs`); statement keys are
read case-insensitively, and actions and resources are matched with IAM's wildcards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.aws.values import UNKNOWN


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern (`*` any run, `?` one character) as a case-insensitive regex."""
    escaped = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(escaped, re.IGNORECASE)


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Whether `value` matches one of the IAM wildcard `patterns`, ignoring case."""
    return any(wildcard_regex(pattern).fullmatch(value) for pattern in patterns)


def parse_statements(document: Any) -> list[dict[str, Any]] | None:
    """The statements of a policy document given as JSON text or as an object.

    Statement keys are lower-cased (`effect`, `action`, ...) since a document passed as a
    Pulumi `PolicyDocumentArgs` dict may spell them either way. None when the document is
    absent or unknown; ValueError when it is not a JSON object.
    """
    if document is None or document is UNKNOWN:
        return None
    if isinstance(document, str):
        document = json.loads(document)  # a JSONDecodeError is a ValueError
    if not isinstance(document, Mapping):
        raise ValueError(f"expected a JSON object, got {type(document).__name__}")
    raw = {str(key).lower(): value for key, value in document.items()}.get("statement")
    items = raw if isinstance(raw, list) else [raw]
    return [
        {str(key).lower(): value for key, value in item.items()}
        for item in items
        if isinstance(item, Mapping)
    ]


def statement_label(statement: Mapping[str, Any], index: int) -> str:
    """How a message names a statement: by its Sid, else by its position."""
    sid = statement.get("sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def is_allow(statement: Mapping[str, Any]) -> bool:
    """Whether the statement allows (rather than denies)."""
    return str(statement.get("effect", "")).lower() == "allow"


def condition_entries(statement: Mapping[str, Any], operators: set[str]) -> list[tuple[str, Any]]:
    """(key, value) of each value the statement's Condition tests with one of `operators`
    (lower-case names); keys lower-cased, as AWS matches condition keys case-insensitively."""
    condition = statement.get("condition")
    if not isinstance(condition, Mapping):
        return []
    entries: list[tuple[str, Any]] = []
    for operator, block in condition.items():
        if str(operator).lower() in operators and isinstance(block, Mapping):
            for key, value in block.items():
                for item in value if isinstance(value, list) else [value]:
                    entries.append((str(key).lower(), item))
    return entries
