"""stateful-resources-protected (policies/stack/protection.py, the types in
policies/stack/stateful.py), through the pack as `plinth check` runs it."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from policies.stack.stateful import STATEFUL_TYPES
from tests.policy_harness import entry, hits, kubernetes

PROTECTED = "stateful-resources-protected"
_SDK_ROOTS = {
    "kubernetes": "pulumi_kubernetes",
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
}


def claim(*, protect: bool = True) -> dict[str, Any]:
    return kubernetes(
        "v1",
        "PersistentVolumeClaim",
        {
            "metadata": {"name": "datasets", "namespace": "ml-jobs"},
            "spec": {"accessModes": ["ReadWriteMany"]},
        },
        protect=protect,
    )


def test_protected_claim_passes() -> None:
    assert hits(PROTECTED, claim()) == []


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_unprotected_claim_is_advisory_until_prod(tier: str, level: str) -> None:
    subject = claim(protect=False)
    found = hits(PROTECTED, subject, tier=tier)
    assert [(violation.urn, violation.level) for violation in found] == [(subject["urn"], level)]
    assert "in the prod tier (plinth:tier: prod" in found[0].message


def test_unprotected_stateless_resource_passes() -> None:
    subject = kubernetes("v1", "ConfigMap", {"metadata": {"name": "settings"}})
    assert hits(PROTECTED, subject) == []


def test_additional_stateful_types_are_configurable() -> None:
    disk = entry("azure-native:compute:Disk", {"diskSizeGB": 128.0})
    config = {PROTECTED: {"additionalStatefulTypes": ["azure-native:compute:Disk"]}}
    assert hits(PROTECTED, disk) == []
    assert len(hits(PROTECTED, disk, config=config)) == 1


def custom_resource_kinds(upstream: Path, group: str) -> set[str]:
    """The type token of every kind of `group` the upstream CRDs define, each version."""
    tokens = set()
    for path in upstream.glob("*/*/crds/*.yaml"):
        text = path.read_text()
        if f"group: {group}" not in text:
            continue
        for document in yaml.safe_load_all(text):
            spec = document.get("spec", {}) if isinstance(document, dict) else {}
            if document and document.get("kind") == "CustomResourceDefinition":
                kind = spec["names"]["kind"]
                tokens |= {f"kubernetes:{group}/{v['name']}:{kind}" for v in spec["versions"]}
    return tokens


CUSTOM_STATEFUL_TYPES = sorted(t for t in STATEFUL_TYPES if "." in t.split(":")[1].split("/")[0])


@pytest.mark.parametrize("token", CUSTOM_STATEFUL_TYPES)
def test_custom_resource_stateful_types_are_kinds_of_the_upstream_crds(
    token: str, upstream: Path
) -> None:
    group = token.split(":")[1].split("/", maxsplit=1)[0]
    assert token in custom_resource_kinds(upstream, group)


@pytest.mark.parametrize("token", sorted(set(STATEFUL_TYPES) - set(CUSTOM_STATEFUL_TYPES)))
def test_stateful_types_are_tokens_of_the_installed_sdks(token: str) -> None:
    package, module, class_name = token.split(":")
    path = module.replace("/", ".") if package != "aws" else module.split("/")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk_class = getattr(importlib.import_module(f"{_SDK_ROOTS[package]}.{path}"), class_name)
    assert pulumi.get_type_token(sdk_class) == token
