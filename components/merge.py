"""The one merge rule of Plinth configuration: maps merge recursively, lists replace.

Used for the configuration layers (component defaults, tier defaults, the stack file) and
for chart values (rendered values, then `values_override`). Inputs are never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`: nested maps merge key by key; any other value replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged
