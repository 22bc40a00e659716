"""Helm charts are pinned, skip their CRDs, and get only values upstream knows.

Every chart Plinth installs must have upstream values data of exactly its pinned version
(../shared/upstream). Every key path Plinth sets must exist in the chart's `values.yaml`
or be allowed by its `values.schema.json`, so a misspelt key fails here instead of being
silently ignored by the chart; where a schema exists, the values merged over the chart's
defaults (as Helm merges them) must validate against it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from plinth.chart_values import unknown_value_paths
from tests.conftest import ENVIRONMENTS, ROOT
from tests.upstream_schemas import (
    UpstreamChart,
    chart_defaults,
    chart_values_schema,
    effective_defaults,
    find_chart,
    helm_merge,
    load_yaml_documents,
    plan_entries,
    schema_errors,
    upstream_charts,
)

HELM_CHART_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")
# One exact SemVer version: no range (^1.2, ~1.2, >=1, 1.x, *), so a render never drifts.
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")

PLANNED_CHARTS = [
    (name, entry)
    for name in ENVIRONMENTS
    for entry in plan_entries(ROOT, name)
    if entry["type"] in HELM_CHART_TYPES
]
CHARTS = [
    pytest.param(entry, id=f"{name}-{entry['inputs']['chart']}-{entry['inputs'].get('version')}")
    for name, entry in PLANNED_CHARTS
]


def chart_name(inputs: Mapping[str, Any]) -> str:
    """The chart's name: `chart` itself, or the last part of an oci:// reference."""
    return str(inputs["chart"]).rstrip("/").rsplit("/", 1)[-1]


def upstream_chart(entry: Mapping[str, Any], upstream: Path) -> UpstreamChart:
    """The upstream data of the entry's chart and version; fails the test if there is none."""
    name, version = chart_name(entry["inputs"]), str(entry["inputs"].get("version"))
    chart = find_chart(upstream, name, version)
    if chart is None:
        known = sorted(v for c in upstream_charts(upstream) if c.name == name for v in c.versions)
        pytest.fail(
            f"{entry['name']}: no upstream values data for chart {name} {version} in {upstream} "
            f"(versions there: {known or 'none'}); add that release's values.yaml, Chart.yaml "
            "and MANIFEST.yaml entries, or pin a version that is there"
        )
    return chart


def test_the_plans_hold_charts_to_check() -> None:
    assert CHARTS, "no environment's plan installs a Helm chart"


def test_every_helm_resource_is_a_kind_these_checks_read() -> None:
    for name in ENVIRONMENTS:
        for entry in plan_entries(ROOT, name):
            if entry["type"].startswith("kubernetes:helm.sh/"):
                assert entry["type"] in HELM_CHART_TYPES, f"{name}: {entry['urn']}"


@pytest.mark.parametrize("entry", CHARTS)
def test_chart_is_pinned_to_one_version_from_an_https_or_oci_source(
    entry: Mapping[str, Any],
) -> None:
    inputs = entry["inputs"]
    version = str(inputs.get("version", ""))
    assert EXACT_VERSION.match(version), f"{entry['name']}: version {version!r} is not exact"
    chart = str(inputs["chart"])
    source = chart if chart.startswith("oci://") else inputs.get("repositoryOpts", {}).get("repo")
    assert str(source).startswith(("https://", "oci://")), (
        f"{entry['name']}: chart {chart!r} comes from {source!r}; use an https:// repository "
        "or an oci:// reference"
    )


@pytest.mark.parametrize("entry", CHARTS)
def test_chart_values_are_known_upstream(entry: Mapping[str, Any], upstream: Path) -> None:
    chart = upstream_chart(entry, upstream)
    values = entry["inputs"].get("values") or {}
    schema = chart_values_schema(chart)
    unknown = unknown_value_paths(values, effective_defaults(chart), schema, chart.dependencies)
    assert not unknown, (
        f"{entry['name']}: chart {chart.name} has no such value (not in its values.yaml"
        f"{' nor allowed by its values.schema.json' if schema else ''}): {', '.join(unknown)}"
    )
    if schema is not None:
        errors = schema_errors(schema, helm_merge(chart_defaults(chart), values))
        assert not errors, f"{entry['name']}: values.schema.json of {chart.name}:\n" + "\n".join(
            errors
        )


@pytest.mark.parametrize("entry", CHARTS)
def test_chart_skips_the_crds_plinth_installs_itself(
    entry: Mapping[str, Any], upstream: Path
) -> None:
    chart = upstream_chart(entry, upstream)
    if chart.ships_crds:
        assert entry["inputs"].get("skipCrds") is True, (
            f"{entry['name']}: {chart.component} ships CRDs; set skip_crds=True and install "
            "them from the pinned release with a yaml/v2:ConfigFile (see components/crds.py)"
        )


# --- The checker itself -------------------------------------------------------------------


def test_a_misspelt_key_in_a_real_chart_entry_is_reported(upstream: Path) -> None:
    assert PLANNED_CHARTS, "no Helm chart in any plan"
    _, entry = PLANNED_CHARTS[0]
    chart = upstream_chart(entry, upstream)
    defaults = effective_defaults(chart)
    values = copy.deepcopy(dict(entry["inputs"]["values"]))
    # A key Plinth sets whose upstream default is a map with keys: its sub-keys are checked.
    section = next(
        key
        for key in sorted(values)
        if isinstance(values[key], dict) and isinstance(defaults.get(key), dict) and defaults[key]
    )
    values[section]["replicaz"] = 2
    found = unknown_value_paths(values, defaults, chart_values_schema(chart), chart.dependencies)
    assert found == [f"{section}.replicaz"]


DEFAULTS = {
    "controller": {"replicas": 1, "resources": {}, "podLabels": None, "args": ["--v=2"]},
    "image": {"tag": "1.0"},
    "grafana": {"enabled": True},
}


@pytest.mark.parametrize(
    ("values", "unknown"),
    [
        pytest.param({"controller": {"replicas": 2}}, [], id="known"),
        pytest.param({"controler": {"replicas": 2}}, ["controler"], id="misspelt-top-level"),
        pytest.param(
            {"controller": {"replicaz": 2}}, ["controller.replicaz"], id="misspelt-nested"
        ),
        pytest.param({"controller": {"resources": {"limits": {"cpu": 1}}}}, [], id="empty-map"),
        pytest.param({"controller": {"podLabels": {"a": "b"}}}, [], id="null-default"),
        pytest.param({"controller": {"args": [{"x": 1}]}}, [], id="lists-not-descended"),
        pytest.param({"image": {"tag": {"x": 1}}}, [], id="scalar-default-not-descended"),
        pytest.param({"grafana": {"anything": {"x": 1}}}, [], id="subchart"),
        pytest.param({"image": {"tga": "2"}, "x": 1}, ["image.tga", "x"], id="several"),
    ],
)
def test_unknown_value_paths_against_values_yaml(
    values: dict[str, Any], unknown: list[str]
) -> None:
    assert unknown_value_paths(values, DEFAULTS, None, frozenset({"grafana"})) == unknown


SCHEMA = {
    "$defs": {"port": {"type": "object", "properties": {"number": {"type": "integer"}}}},
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "service": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"port": {"$ref": "#/$defs/port"}, "labels": {"type": "object"}},
        },
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "extra": {"type": "object", "patternProperties": {"^x-": {"type": "string"}}},
    },
}


@pytest.mark.parametrize(
    ("values", "unknown"),
    [
        pytest.param({"service": {"port": {"number": 80}}}, [], id="via-ref"),
        pytest.param({"service": {"prot": {}}}, ["service.prot"], id="additional-false"),
        pytest.param({"service": {"labels": {"a": "b"}}}, [], id="free-form"),
        pytest.param({"env": {"A": "1"}}, [], id="additional-schema"),
        pytest.param({"extra": {"x-a": "1", "y": "2"}}, ["extra.y"], id="pattern-or-undeclared"),
        pytest.param({"sevrice": {}}, ["sevrice"], id="root-additional-false"),
    ],
)
def test_unknown_value_paths_against_values_schema(
    values: dict[str, Any], unknown: list[str]
) -> None:
    assert unknown_value_paths(values, {}, SCHEMA) == unknown


def test_a_key_known_to_values_yaml_or_schema_is_accepted() -> None:
    defaults = {"service": {"type": "ClusterIP"}}
    values = {"service": {"type": "LoadBalancer", "port": {"number": 80}}}
    assert unknown_value_paths(values, defaults, SCHEMA) == []


# `# renovate: datasource=helm depName=<chart> ...` then `<NAME> = "<version>"`.
RENOVATE_HELM_PIN = re.compile(
    r"^# renovate: datasource=helm depName=(?P<chart>[\w.-]+).*\n[A-Z_]+ = \"(?P<version>[^\"]+)\"",
    re.MULTILINE,
)


def pinned_chart_schemas(upstream: Path) -> list[tuple[str, Path]]:
    """The values.schema.json files of every chart components/versions.py pins, its
    vendored subcharts' included (Helm validates those too), as (label, path)."""
    source = (ROOT / "components" / "versions.py").read_text(encoding="utf-8")
    schemas = []
    for pin in RENOVATE_HELM_PIN.finditer(source):
        chart = find_chart(upstream, pin["chart"], pin["version"])
        if chart is None or chart.values is None:
            continue
        chart_dir = chart.values.parent
        for schema in sorted(chart_dir.rglob("values.schema.json")):
            schemas.append((f"{pin['chart']}/{schema.parent.relative_to(chart_dir)}", schema))
    return schemas


def resolved(node: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """`node`, or the definition its local `$ref` names (cert-manager's schema is all refs)."""
    while isinstance(ref := node.get("$ref"), str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def scalar_typed_property(schema: Mapping[str, Any]) -> str | None:
    """A top-level property the schema types as a string, number or boolean."""
    properties = resolved(schema, schema).get("properties") or {}
    return next(
        (
            key
            for key, node in sorted(properties.items())
            if isinstance(node, dict)
            and resolved(node, schema).get("type") in {"string", "integer", "number", "boolean"}
        ),
        None,
    )


def test_pinned_chart_schemas_reject_a_bad_value_after_the_helm_merge(upstream: Path) -> None:
    # Only the charts Plinth pins: other charts in the upstream folder may ship a schema
    # that allows any key (cloudnative-pg's does), which says nothing about Plinth's.
    schemas = pinned_chart_schemas(upstream)
    assert schemas, "no chart Plinth pins ships a values.schema.json"
    for label, path in schemas:
        schema = json.loads(path.read_text(encoding="utf-8"))
        defaults = load_yaml_documents(path.with_name("values.yaml"))[0]
        assert schema_errors(schema, defaults) == [], label
        typed = scalar_typed_property(schema)
        assert typed is not None, f"{label}: no scalar-typed top-level property to break"
        errors = schema_errors(schema, helm_merge(defaults, {typed: {"x": 1}}))
        assert len(errors) == 1, (label, errors)
        if schema.get("additionalProperties") is False:
            closed = schema_errors(schema, helm_merge(defaults, {"nonesuchKey": {"x": 1}}))
            assert any("'nonesuchKey' was unexpected" in error for error in closed), label


def test_helm_merge_merges_maps_replaces_lists_and_null_deletes() -> None:
    defaults = {"a": {"b": 1, "c": 2}, "list": [1, 2], "gone": {"x": 1}}
    merged = helm_merge(defaults, {"a": {"c": 3}, "list": [3], "gone": None})
    assert merged == {"a": {"b": 1, "c": 3}, "list": [3]}
    assert defaults == {"a": {"b": 1, "c": 2}, "list": [1, 2], "gone": {"x": 1}}


def test_a_resources_default_with_requests_only_takes_limits_too() -> None:
    # istiod's values.yaml: `resources: {requests: ...}`; its template renders the map whole.
    defaults = {"resources": {"requests": {"cpu": "500m"}}}
    limits = {"resources": {"limits": {"cpu": "2"}, "requests": {"memory": "2Gi"}}}
    assert unknown_value_paths(limits, defaults) == []
    assert unknown_value_paths({"resources": {"limit": {}}}, defaults) == ["resources.limit"]
