"""Custom resources match the upstream CRDs Plinth installs, and those are the pinned files.

Each custom resource is validated against the schema of its served version in the upstream
CRD (../shared/upstream), made strict: an unknown field fails, as it does with server-side
field validation Strict. Each CRD Plinth installs (a `yaml/v2:ConfigFile` of a
raw.githubusercontent.com URL) must be a file MANIFEST.yaml lists at the same repository,
tag and path, so the CRDs on the cluster are exactly the ones these tests read; and each
custom resource must depend on the ConfigFile that installs its CRD.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from plinth.upstream import upstream_file_for_url
from tests.conftest import ENVIRONMENTS, ROOT
from tests.upstream_schemas import (
    CONFIG_FILE,
    crd_for,
    crds_in,
    custom_resource_errors,
    group_version,
    installed_upstream_files,
    is_custom_resource,
    kubernetes_version,
    load_yaml_documents,
    object_entries,
    object_label,
    plan_entries,
    strict_crd_schema,
)


def custom_resource_entries(environment: str) -> list[Mapping[str, Any]]:
    """The plan entries of `environment` that are custom resources."""
    version = kubernetes_version(ROOT, environment)
    entries = object_entries(plan_entries(ROOT, environment))
    return [entry for entry in entries if is_custom_resource(entry["inputs"], version)]


PLANNED_CUSTOM_RESOURCES = [
    (name, entry) for name in ENVIRONMENTS for entry in custom_resource_entries(name)
]
CUSTOM_RESOURCES = [
    pytest.param(name, entry, id=f"{name}-{object_label(entry['inputs'])}")
    for name, entry in PLANNED_CUSTOM_RESOURCES
]
CRD_CONFIG_FILES = [
    pytest.param(entry, id=f"{name}-{entry['name']}")
    for name in ENVIRONMENTS
    for entry in plan_entries(ROOT, name)
    if entry["type"] == CONFIG_FILE
]


def test_the_plans_hold_custom_resources_and_crds_to_check() -> None:
    assert CUSTOM_RESOURCES, "no environment's plan has a custom resource to check"
    assert CRD_CONFIG_FILES, "no environment's plan installs a CRD file to check"


@pytest.mark.parametrize(("environment", "entry"), CUSTOM_RESOURCES)
def test_custom_resource_matches_its_upstream_crd(
    environment: str, entry: Mapping[str, Any], upstream: Path
) -> None:
    obj = entry["inputs"]
    installed = installed_upstream_files(upstream, plan_entries(ROOT, environment))
    # The plan's own CRD files first; all upstream CRDs (slower) only to explain a miss.
    crd = crd_for(upstream, obj, installed.values()) or crd_for(upstream, obj)
    assert crd is not None, (
        f"{object_label(obj)}: no CRD in the upstream data ({upstream}) defines "
        f"{obj['apiVersion']} {obj['kind']}; add its pinned upstream CRD file and a "
        "MANIFEST.yaml entry, or use a version the pinned CRD serves"
    )
    errors = custom_resource_errors(crd, obj)
    assert not errors, f"{object_label(obj)} against {crd.source.file}:\n" + "\n".join(errors)


@pytest.mark.parametrize(("environment", "entry"), CUSTOM_RESOURCES)
def test_custom_resource_depends_on_the_crd_the_plan_installs(
    environment: str, entry: Mapping[str, Any], upstream: Path
) -> None:
    obj = entry["inputs"]
    group, _ = group_version(obj["apiVersion"])
    installed = installed_upstream_files(upstream, plan_entries(ROOT, environment))
    installers = sorted(
        urn
        for urn, file in installed.items()
        if any((crd.group, crd.kind) == (group, obj["kind"]) for crd in crds_in(upstream, file))
    )
    assert installers, (
        f"{object_label(obj)}: the plan installs no CRD for {group} {obj['kind']}; install "
        "its pinned upstream CRD file with a yaml/v2:ConfigFile"
    )
    assert set(installers) & set(entry["dependencies"]), (
        f"{object_label(obj)} does not depend on the CRD it needs: add depends_on one of "
        f"{installers}"
    )


@pytest.mark.parametrize("entry", CRD_CONFIG_FILES)
def test_installed_crd_file_is_a_pinned_upstream_file(
    entry: Mapping[str, Any], upstream: Path
) -> None:
    url = entry["inputs"].get("file", "")
    source = upstream_file_for_url(upstream, url)
    assert source is not None, (
        f"{entry['name']}: {url} is not a file of the upstream data; install CRDs from "
        "https://raw.githubusercontent.com/<owner>/<repo>/<tag>/<path> with the repository, "
        f"release tag and path of an entry in {upstream / 'MANIFEST.yaml'}"
    )
    assert "/crds/" in source.file, f"{entry['name']}: {source.file} is not a CRD file"


# --- The checker itself -------------------------------------------------------------------


def first_custom_resource() -> tuple[str, Mapping[str, Any]]:
    assert PLANNED_CUSTOM_RESOURCES, "no custom resource in any plan"
    environment, entry = PLANNED_CUSTOM_RESOURCES[0]
    return environment, entry["inputs"]


def test_a_misspelt_spec_field_fails_the_crd_check(upstream: Path) -> None:
    environment, real = first_custom_resource()
    installed = installed_upstream_files(upstream, plan_entries(ROOT, environment)).values()
    crd = crd_for(upstream, real, installed)
    assert crd is not None
    assert custom_resource_errors(crd, real) == []
    misspelt = copy.deepcopy(dict(real))
    misspelt["spec"]["replicaz"] = 2
    errors = custom_resource_errors(crd, misspelt)
    assert errors == ["$.spec: Additional properties are not allowed ('replicaz' was unexpected)"]


def test_an_unknown_version_has_no_crd(upstream: Path) -> None:
    environment, real = first_custom_resource()
    installed = installed_upstream_files(upstream, plan_entries(ROOT, environment)).values()
    group, _ = group_version(real["apiVersion"])
    assert crd_for(upstream, real, installed) is not None
    assert crd_for(upstream, {**real, "apiVersion": f"{group}/v0nonesuch"}, installed) is None


def test_a_version_the_crd_does_not_serve_is_reported(upstream: Path) -> None:
    environment, real = first_custom_resource()
    installed = installed_upstream_files(upstream, plan_entries(ROOT, environment)).values()
    crd = crd_for(upstream, real, installed)
    assert crd is not None
    unserved = dataclasses.replace(crd, served=False)
    errors = custom_resource_errors(unserved, real)
    assert errors == [f"{crd.source.file} does not serve version {crd.version} of {crd.kind}"]


STRUCTURAL = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "either": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                    "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                },
                "maybe": {"type": "string", "nullable": True},
                "pruned": {"type": "object"},
                "embedded": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {}}},
                },
            },
        },
    },
}


def strict_errors(instance: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(strict_crd_schema(STRUCTURAL))
    return sorted(error.json_path for error in validator.iter_errors(instance))


def valid_resource(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Example",
        "metadata": {"name": "x", "labels": {"a": "b"}, "annotations": {}},
        "spec": {"port": 80, "free": {"anything": {"goes": 1}}, "labels": {"k": "v"}, **spec},
    }


def test_strict_schema_accepts_a_valid_resource() -> None:
    assert strict_errors(valid_resource(items=[{"name": "a"}], either={"a": "x"})) == []
    assert strict_errors(valid_resource(port="http", maybe=None, pruned={})) == []
    embedded = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}
    assert strict_errors(valid_resource(embedded=embedded)) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        pytest.param({"unknown": 1}, "$.spec", id="unknown-spec-field"),
        pytest.param({"items": [{"name": "a", "nmae": "b"}]}, "$.spec.items[0]", id="in-a-list"),
        pytest.param({"port": 1.5}, "$.spec.port", id="int-or-string"),
        pytest.param({"labels": {"k": 1}}, "$.spec.labels.k", id="map-value-type"),
        pytest.param({"either": {"a": "x", "c": "y"}}, "$.spec.either", id="beside-a-oneOf"),
        pytest.param({"pruned": {"labels": {}}}, "$.spec.pruned", id="object-without-fields"),
        pytest.param({"embedded": {"spec": {"x": 1}}}, "$.spec.embedded.spec", id="embedded"),
    ],
)
def test_strict_schema_rejects(change: dict[str, Any], where: str) -> None:
    assert strict_errors(valid_resource(**change)) == [where]


def test_strict_schema_rejects_an_unknown_top_level_field() -> None:
    assert strict_errors({**valid_resource(), "sepc": {}}) == ["$"]


def test_strict_schema_leaves_the_crd_unchanged() -> None:
    original = copy.deepcopy(STRUCTURAL)
    strict_crd_schema(STRUCTURAL)
    assert original == STRUCTURAL


def test_upstream_crds_load_despite_the_readme_caveats(upstream: Path) -> None:
    alertmanager = "kube-prometheus-stack/88.5.3/crds/crd-alertmanagerconfigs.yaml"
    (document,) = load_yaml_documents(upstream / alertmanager)
    assert "=" in json.dumps(document).split('"enum": [')[1]
    istio = crds_in(upstream, "istio/1.30.3/crds/crd-all.gen.yaml")
    assert len({crd.kind for crd in istio}) == 15
