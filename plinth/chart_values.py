"""Chart values Plinth passes must be values the chart knows.

Helm ignores a key no template reads: a misspelt `values_override` key would deploy the
chart's default silently. A key is known when the chart's values.yaml has it or its
values.schema.json declares it (in `properties`, a matching `patternProperties`, or an
`additionalProperties` schema; a map whose schema lists no keys is free-form). A key a
schema leaves undeclared is unknown even where JSON Schema would allow it: several charts
ship schemas without `additionalProperties: false`, and a misspelt key must not pass.
Below a key whose default is `{}` or null anything goes; lists are not descended; a
subchart's keys (Chart.yaml dependencies, by name or alias) and `global` are open, since
their defaults live in the subchart.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from plinth import helm
from stacks.config import ConfigError

# Istio charts keep their defaults under this key and merge it under the user's values.
ISTIO_DEFAULTS_KEY = "_internal_defaults_do_not_set"

# The keys of a Kubernetes container `resources` block: a chart whose default names only
# `requests` (istiod's) still passes `limits` through to the container.
RESOURCE_REQUIREMENTS = ("requests", "limits", "claims")

# What a key lookup found: a map to look further into, any sub-key at all, or nothing.
Known = Mapping[str, Any] | Literal["any"] | None


def effective_defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults a user's keys are read against (Istio's wrapper key unwrapped)."""
    wrapped = defaults.get(ISTIO_DEFAULTS_KEY) or {}
    return {
        **wrapped,
        **{key: value for key, value in defaults.items() if key != ISTIO_DEFAULTS_KEY},
    }


def check_chart_values(label: str, values: Mapping[str, Any], info: helm.ChartInfo) -> None:
    """A one-line ConfigError naming every key of `values` the chart does not know."""
    subcharts = frozenset(
        str(d.get("alias") or d.get("name")) for d in info.declared_dependencies
    ) | {"global"}
    unknown = unknown_value_paths(values, effective_defaults(info.values), info.schema, subcharts)
    if unknown:
        raise ConfigError(
            f"{label}: the chart has no value {', '.join(unknown)} (not in its values.yaml"
            f"{' nor allowed by its values.schema.json' if info.schema else ''}); fix the key "
            "in the component's values_override"
        )


def _default_child(node: Known, key: str) -> Known:
    if not isinstance(node, Mapping):
        return node
    if key not in node:
        return None
    value = node[key]
    if isinstance(value, Mapping) and value and set(value) <= set(RESOURCE_REQUIREMENTS):
        return {name: {} for name in RESOURCE_REQUIREMENTS}
    # An empty map or null default is a free-form map; a list or scalar is not descended.
    return value if isinstance(value, Mapping) and value else "any"


def _resolve(node: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    """`node`, or what its local `$ref` ("#/$defs/values") points to."""
    while isinstance(ref := node.get("$ref"), str) and ref.startswith("#/"):
        node = functools.reduce(operator.getitem, ref[2:].split("/"), document)
    return node


def _schema_child(node: Known, key: str, document: Mapping[str, Any]) -> Known:
    if not isinstance(node, Mapping):
        return node
    node = _resolve(node, document)
    properties = node.get("properties") or {}
    patterns = node.get("patternProperties") or {}
    extra = node.get("additionalProperties")
    if key in properties:
        return _resolve(properties[key], document)
    for pattern, sub in patterns.items():
        if re.search(pattern, key):
            return _resolve(sub, document)
    if isinstance(extra, Mapping):
        return _resolve(extra, document)
    if extra is True or (extra is None and not properties and not patterns):
        return "any"  # a free-form map
    # A key a schema that lists its keys does not declare is unknown, even where JSON
    # Schema would allow it (no `additionalProperties: false`): a misspelt key must fail.
    return None


def _unknown_paths(
    values: Mapping[str, Any], defaults: Known, schema: Known, document: Mapping[str, Any], at: str
) -> Iterator[str]:
    for key, value in values.items():
        path = f"{at}{key}"
        by_default, by_schema = _default_child(defaults, key), _schema_child(schema, key, document)
        if by_default is None and by_schema is None:
            yield path
        elif "any" not in (by_default, by_schema) and isinstance(value, Mapping):
            yield from _unknown_paths(value, by_default, by_schema, document, f"{path}.")


def unknown_value_paths(
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    subcharts: frozenset[str] = frozenset(),
) -> list[str]:
    """Dotted paths of `values` that neither `defaults` (values.yaml) nor `schema` know;
    the keys under a subchart's key (`subcharts`) are not checked."""
    open_defaults = {**defaults, **dict.fromkeys(subcharts)}
    return sorted(_unknown_paths(values, open_defaults, schema, schema or {}, ""))
