"""Helm's `kubeVersion` constraints (Masterminds semver syntax), checked as `helm install`
checks them against the cluster's version.

Supported: comparisons (`=`, `!=`, `>`, `>=`, `<`, `<=`), `~` (patch-level) and `^`
(minor-level) ranges, `x`/`*` wildcards, AND by spaces or commas, OR by `||`, and hyphen
ranges (`1.20 - 1.30`). The version checked is a release (`1.30.0`): a constraint version
with a prerelease suffix such as `-0` (which charts add so that distribution versions like
v1.30.2-eks-1 match) sits just below its release, so `>=1.30.0-0` and `>1.30.0-0` both
admit 1.30.0 while `<=1.30.0-0` does not.
"""

from __future__ import annotations

import re

from stacks.config import ConfigError

TERM = re.compile(
    r"^(?P<op>!=|>=|<=|=>|=<|>|<|=|~>?|\^)?\s*v?"
    r"(?P<version>[0-9xX*]+(?:\.[0-9xX*]+){0,2})(?P<prerelease>-[^+]*)?(?:\+.*)?$"
)


def _parts(version: str) -> list[int | None]:
    """[major, minor, patch]; None where the version leaves a part open (`1.30`, `1.x`)."""
    pieces = version.split(".")
    parts: list[int | None] = [None if p in {"x", "X", "*"} else int(p) for p in pieces[:3]]
    return parts + [None] * (3 - len(parts))


def _version(version: str) -> tuple[int, int, int]:
    parts = _parts(re.sub(r"^v|[-+].*$", "", version))
    return (parts[0] or 0, parts[1] or 0, parts[2] or 0)


def _bounds(op: str, parts: list[int | None]) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """[lower, upper) of a `~`, `^` or wildcard term."""
    fixed = [p for p in parts if p is not None]
    lower = tuple(fixed + [0] * (3 - len(fixed)))
    if op == "^" and lower[0] > 0:
        return lower, (lower[0] + 1, 0, 0)
    if (op in {"~", "~>"} and len(fixed) >= 2) or (op == "^" and len(fixed) >= 2):
        return lower, (lower[0], lower[1] + 1, 0)
    if not fixed:
        return (0, 0, 0), None
    if len(fixed) == 1:
        return lower, (lower[0] + 1, 0, 0)
    if len(fixed) == 2:
        return lower, (lower[0], lower[1] + 1, 0)
    return lower, (lower[0], lower[1], lower[2] + 1)


def _term_holds(term: str, version: tuple[int, int, int]) -> bool:
    match = TERM.match(term)
    if match is None:
        raise ConfigError(f"kubeVersion term {term!r} is not a version constraint Plinth reads")
    op = match["op"] or "="
    parts = _parts(match["version"])
    if match["prerelease"] and None not in parts:
        # X.Y.Z-pre is below the release X.Y.Z and above every release before it.
        if op in {"=", "!="}:
            return op == "!="
        op = {">": ">=", "<=": "<", "=<": "<"}.get(op, op)
    lower, upper = _bounds(op, parts)
    within = lower <= version and (upper is None or version < upper)
    if op in {"=", "~", "~>", "^"}:
        return within
    if op == "!=":
        return not within
    if op in {">=", "=>"}:
        return version >= lower
    if op == ">":
        return version >= upper if upper is not None else False
    if op in {"<=", "=<"}:
        return upper is None or version < upper
    return version < lower  # "<"


def satisfies(version: str, constraint: str) -> bool:
    """Whether `version` (e.g. "1.30.0") meets the Helm `kubeVersion` `constraint`."""
    target = _version(version)
    for alternative in constraint.split("||"):
        hyphen = re.fullmatch(r"\s*(\S+)\s+-\s+(\S+)\s*", alternative)
        terms = (
            [f">={hyphen[1]}", f"<={hyphen[2]}"]
            if hyphen
            else [
                t for t in re.split(r"[\s,]+", re.sub(r"([<>=!~^]+)\s+", r"\1", alternative)) if t
            ]
        )
        if all(_term_holds(term, target) for term in terms):
            return True
    return False
