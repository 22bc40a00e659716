"""Reading resource inputs the engine may not know yet (during a preview).

The analyzer hands rules proxies that raise on reading an unknown value; `known` reads
an input through once and puts UNKNOWN where a value is not known yet, so an AWS rule
judges the rest and lets that one value pass (the stack rules run again with known
outputs at the end of `pulumi up`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Final = _Unknown()
"""Stands for a value the engine does not know yet (during a preview)."""


def known(value: Any) -> Any:
    """`value` as plain dicts and lists, each value unknown at preview replaced by UNKNOWN.

    The analyzer hands rules proxies that raise on reading an unknown value and lists that
    are not `list`s; reading through this once lets a rule skip what it cannot judge yet
    instead of abandoning the whole rule.
    """
    if isinstance(value, Mapping):
        return {str(key): _read(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_read(value, index) for index in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return known(container[key])
    except UnknownValueError:
        return UNKNOWN


def strings(value: Any) -> list[str]:
    """A policy element that is a string or a list of strings, as a list (others dropped)."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]
