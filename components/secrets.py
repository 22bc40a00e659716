"""Keeping secret configuration secret on its way to resources.

Pulumi marks a whole config key secret (`plinth:cluster`), and the value the program reads
is plain text: unless the program wraps it, the engine stores it in clear in the state.
The loader records on each model whether its key is secret (`FrozenModel.from_secret_key`);
components pass the fields that may hold a secret (`components.args.SECRET_CAPABLE`)
through these helpers on their way to a resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pulumi

from components.args import FrozenModel

T = TypeVar("T")


def keep_secret(value: T, source: FrozenModel) -> T | pulumi.Output[T]:
    """`value` as a Pulumi secret when `source` came from a secret config key."""
    if source.from_secret_key and value is not None:
        return pulumi.Output.secret(value)
    return value


def secret_strings(value: Any) -> Any:
    """A copy of `value` (chart values) whose every string is a Pulumi secret: the chart
    still receives the whole structure, while the state holds the strings encrypted."""
    if isinstance(value, Mapping):
        return {key: secret_strings(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [secret_strings(child) for child in value]
    if isinstance(value, str):
        return pulumi.Output.secret(value)
    return value


def values_override(override: Mapping[str, Any], source: FrozenModel) -> Mapping[str, Any]:
    """A chart's `values_override`, with its strings secret when `source`'s key is."""
    if source.from_secret_key:
        return dict(secret_strings(override))
    return override
