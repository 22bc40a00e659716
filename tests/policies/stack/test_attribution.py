"""Stack rules: stateful-resources-protected, namespace-single-owner,
kubernetes-required-labels and cloud-required-tags, through the pack as `plinth check`
runs it."""

from __future__ import annotations

import importlib
import json
import warnings
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plinth.check import run_pack
from plinth.policy_config import resolve_policy_config
from policies import charts, namespaces, services, stack
from policies.stateful import STATEFUL_TYPES
from tests.policy_harness import entry, hits, kubernetes

PROTECTED = "stateful-resources-protected"
SINGLE_OWNER = "namespace-single-owner"
LABELS = "kubernetes-required-labels"
TAGS = "cloud-required-tags"

PLATFORM_LABELS = {
    "plinth.io/owner": "ml-platform",
    "plinth.io/cost-centre": "cc-4711",
    "plinth.io/environment": "onprem",
}
OWNERSHIP_TAGS = {"owner": "ml-platform", "cost-centre": "cc-4711", "environment": "prod"}
_SDK_ROOTS = {
    "kubernetes": "pulumi_kubernetes",
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
}


# stateful-resources-protected


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
    assert "protect=True" in found[0].message


def test_unprotected_stateless_resource_passes() -> None:
    subject = kubernetes("v1", "ConfigMap", {"metadata": {"name": "settings"}})
    assert hits(PROTECTED, subject) == []


def test_additional_stateful_types_are_configurable() -> None:
    disk = entry("azure-native:compute:Disk", {"diskSizeGB": 128.0})
    config = {PROTECTED: {"additionalStatefulTypes": ["azure-native:compute:Disk"]}}
    assert hits(PROTECTED, disk) == []
    assert len(hits(PROTECTED, disk, config=config)) == 1


@pytest.mark.parametrize("token", sorted(STATEFUL_TYPES))
def test_stateful_types_are_tokens_of_the_installed_sdks(token: str) -> None:
    package, module, class_name = token.split(":")
    path = module.replace("/", ".") if package != "aws" else module.split("/")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk_class = getattr(importlib.import_module(f"{_SDK_ROOTS[package]}.{path}"), class_name)
    assert pulumi.get_type_token(sdk_class) == token


# namespace-single-owner


def component(name: str, parent: str = "") -> dict[str, Any]:
    return entry(f"plinth:test:{name.title()}", {}, name=name, parent=parent)


def owned_namespace(owner: dict[str, Any], name: str = "shared", **options: Any) -> dict[str, Any]:
    return kubernetes(
        "v1",
        "Namespace",
        {"metadata": {"name": name}},
        name=f"{owner['name']}-ns",
        parent=owner["urn"],
        **options,
    )


def chart(
    owner: dict[str, Any],
    namespace: str = "shared",
    resource_type: str = "kubernetes:helm.sh/v4:Chart",
) -> dict[str, Any]:
    return entry(
        resource_type,
        {"chart": "x", "namespace": namespace},
        name=f"{owner['name']}-chart",
        parent=owner["urn"],
    )


def one_owner() -> list[dict[str, Any]]:
    """A component that creates a namespace and installs its chart into it."""
    owner = component("platform")
    return [owner, owned_namespace(owner), chart(owner)]


def test_chart_in_its_own_components_namespace_passes() -> None:
    assert hits(SINGLE_OWNER, *one_owner()) == []


@pytest.mark.parametrize(
    "resource_type", ["kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"]
)
def test_chart_in_another_components_namespace_is_refused(resource_type: str) -> None:
    other = component("other")
    intruder = chart(other, resource_type=resource_type)
    found = hits(SINGLE_OWNER, *one_owner(), other, intruder)
    assert [violation.urn for violation in found] == [intruder["urn"]]
    assert "which platform (plinth:test:Platform) creates" in found[0].message


def test_chart_of_a_nested_component_may_use_the_enclosing_namespace() -> None:
    owner, namespace, _ = one_owner()
    inner = component("inner", parent=owner["urn"])
    assert hits(SINGLE_OWNER, owner, namespace, inner, chart(inner)) == []


def test_chart_in_a_namespace_the_program_creates_passes() -> None:
    other = component("other")
    top_level = kubernetes("v1", "Namespace", {"metadata": {"name": "shared"}})
    assert hits(SINGLE_OWNER, top_level, other, chart(other)) == []


def test_duplicate_namespace_is_refused_on_both() -> None:
    first, namespace, _ = one_owner()
    second = component("other")
    duplicate = owned_namespace(second)
    found = hits(SINGLE_OWNER, first, namespace, second, duplicate)
    assert sorted(violation.urn for violation in found) == sorted(
        [namespace["urn"], duplicate["urn"]]
    )
    assert (
        "again by other (plinth:test:Other)"
        in next(v for v in found if v.urn == namespace["urn"]).message
    )


def test_same_namespace_name_on_two_clusters_passes() -> None:
    cluster_a = entry("pulumi:providers:kubernetes", {"context": "a"}, name="cluster-a")
    cluster_b = entry("pulumi:providers:kubernetes", {"context": "b"}, name="cluster-b")
    first, second = component("first"), component("second")
    resources = [
        owned_namespace(first, provider=f"{cluster_a['urn']}::a-id"),
        owned_namespace(second, provider=f"{cluster_b['urn']}::b-id"),
    ]
    assert hits(SINGLE_OWNER, cluster_a, cluster_b, first, second, *resources) == []


def test_single_owner_is_mandatory_everywhere() -> None:
    other = component("other")
    for tier in ("dev", "staging", "prod"):
        found = hits(SINGLE_OWNER, *one_owner(), other, chart(other), tier=tier)
        assert [violation.level for violation in found] == ["mandatory"]


# kubernetes-required-labels


def labelled(kind: str = "ConfigMap", api_version: str = "v1") -> dict[str, Any]:
    return kubernetes(
        api_version, kind, {"metadata": {"name": "subject", "labels": dict(PLATFORM_LABELS)}}
    )


@pytest.mark.parametrize(
    ("api_version", "kind"), [("v1", "ConfigMap"), ("kubeflow.org/v1", "PyTorchJob")]
)
def test_labelled_objects_pass(api_version: str, kind: str) -> None:
    assert hits(LABELS, labelled(kind, api_version)) == []


@pytest.mark.parametrize(
    ("api_version", "kind"), [("v1", "ConfigMap"), ("kubeflow.org/v1", "PyTorchJob")]
)
def test_missing_label_is_refused(api_version: str, kind: str) -> None:
    subject = labelled(kind, api_version)
    del subject["inputs"]["metadata"]["labels"]["plinth.io/cost-centre"]
    found = hits(LABELS, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert found[0].message.startswith(f"{kind} subject lacks the labels plinth.io/cost-centre")


def test_empty_label_value_does_not_count() -> None:
    subject = labelled()
    subject["inputs"]["metadata"]["labels"]["plinth.io/owner"] = ""
    assert "plinth.io/owner" in hits(LABELS, subject)[0].message


def test_object_without_labels_is_refused() -> None:
    subject = labelled()
    del subject["inputs"]["metadata"]["labels"]
    assert len(hits(LABELS, subject)) == 1


@pytest.mark.parametrize(
    "resource_type",
    [
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:yaml/v2:ConfigFile",
        "kubernetes:helm.sh/v3:Release",
        "plinth:test:Platform",
    ],
)
def test_components_and_releases_are_not_objects(resource_type: str) -> None:
    assert hits(LABELS, entry(resource_type, {"chart": "x", "values": {}})) == []


def test_patches_are_not_checked() -> None:
    subject = labelled()
    subject["type"] = "kubernetes:core/v1:ConfigMapPatch"
    del subject["inputs"]["metadata"]["labels"]
    assert hits(LABELS, subject) == []


def test_upstream_crds_are_exempt_unless_configured_otherwise() -> None:
    crd = labelled("CustomResourceDefinition", "apiextensions.k8s.io/v1")
    del crd["inputs"]["metadata"]["labels"]
    assert hits(LABELS, crd) == []
    assert len(hits(LABELS, crd, config={LABELS: {"exemptKinds": []}})) == 1


def test_required_labels_are_configurable() -> None:
    config = {LABELS: {"requiredLabels": ["team"]}}
    assert "lacks the labels team" in hits(LABELS, labelled(), config=config)[0].message


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_labels_level_per_tier(tier: str, level: str) -> None:
    subject = labelled()
    del subject["inputs"]["metadata"]["labels"]
    assert [found.level for found in hits(LABELS, subject, tier=tier)] == [level]


# cloud-required-tags


def aws_provider(default_tags: Any = None) -> dict[str, Any]:
    inputs: dict[str, Any] = {"region": "eu-west-1"}
    if default_tags is not None:
        inputs["defaultTags"] = default_tags
    return entry("pulumi:providers:aws", inputs, name="aws")


def bucket(
    provider: dict[str, Any] | None = None, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"bucket": "plinth-artifacts"}
    if tags is not None:
        inputs["tags"] = tags
    return entry(
        "aws:s3/bucket:Bucket",
        inputs,
        name="artifacts",
        provider=f"{provider['urn']}::aws-id" if provider else "",
    )


def test_aws_resource_with_its_own_tags_passes() -> None:
    assert hits(TAGS, bucket(tags=dict(OWNERSHIP_TAGS))) == []


@pytest.mark.parametrize("encode", [json.dumps, lambda value: value], ids=["json-string", "object"])
def test_aws_provider_default_tags_count(encode: Any) -> None:
    provider = aws_provider(encode({"tags": dict(OWNERSHIP_TAGS)}))
    assert hits(TAGS, provider, bucket(provider)) == []


def test_aws_resource_and_provider_tags_merge() -> None:
    provider = aws_provider(json.dumps({"tags": {"owner": "ml-platform", "environment": "prod"}}))
    assert hits(TAGS, provider, bucket(provider, tags={"cost-centre": "cc-4711"})) == []
    found = hits(TAGS, provider, bucket(provider, tags={}))
    assert (
        "lacks the tags cost-centre in its tags or its provider's defaultTags" in found[0].message
    )


def test_aws_resource_without_tags_anywhere_is_refused() -> None:
    subject = bucket(aws_provider())
    found = hits(TAGS, aws_provider(), subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert "lacks the tags owner, cost-centre, environment" in found[0].message


def test_aws_resource_that_takes_no_tags_passes() -> None:
    policy = entry(
        "aws:s3/bucketPolicy:BucketPolicy", {"bucket": "plinth-artifacts", "policy": "{}"}
    )
    assert hits(TAGS, policy) == []


def test_unknown_aws_type_is_judged_only_by_its_tags_input() -> None:
    future = entry("aws:future/thing:Thing", {})
    assert hits(TAGS, future) == []
    future["inputs"]["tags"] = {"owner": "ml-platform"}
    assert len(hits(TAGS, future)) == 1


def test_autoscaling_group_list_tags_count_but_default_tags_do_not() -> None:
    provider = aws_provider(json.dumps({"tags": dict(OWNERSHIP_TAGS)}))
    group = entry(
        "aws:autoscaling/group:Group",
        {
            "tags": [
                {"key": key, "value": value, "propagateAtLaunch": True}
                for key, value in OWNERSHIP_TAGS.items()
            ]
        },
        provider=f"{provider['urn']}::aws-id",
    )
    assert hits(TAGS, provider, group) == []
    group["inputs"]["tags"] = []
    assert len(hits(TAGS, provider, group)) == 1


def test_azure_resource_with_tags_passes() -> None:
    account = entry("azure-native:storage:StorageAccount", {"tags": dict(OWNERSHIP_TAGS)})
    assert hits(TAGS, account) == []


def test_azure_resource_that_takes_tags_must_have_them() -> None:
    account = entry("azure-native:storage:StorageAccount", {"kind": "StorageV2"})
    found = hits(TAGS, account)
    assert "lacks the tags owner, cost-centre, environment in its tags" in found[0].message


def test_azure_resource_that_takes_no_tags_passes() -> None:
    container = entry("azure-native:storage:BlobContainer", {"accountName": "plinth"})
    assert hits(TAGS, container) == []


def test_other_providers_resources_are_not_cloud_resources() -> None:
    assert hits(TAGS, labelled(), aws_provider()) == []


def test_required_tags_are_configurable() -> None:
    config = {TAGS: {"requiredTags": ["Project"]}}
    found = hits(TAGS, bucket(tags=dict(OWNERSHIP_TAGS)), config=config)
    assert "lacks the tags Project" in found[0].message


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_tags_level_per_tier(tier: str, level: str) -> None:
    assert [found.level for found in hits(TAGS, bucket(), tier=tier)] == [level]


# Every rule of namespaces.py, services.py, charts.py and stack.py, on malformed inputs


_OURS = (*namespaces.RULES, *services.RULES, *charts.RULES, *stack.RULES)
_KEYS = st.sampled_from(
    [
        *("metadata", "name", "namespace", "labels", "apiVersion", "kind", "spec", "type"),
        *("podSelector", "policyTypes", "ingress", "egress", "from", "to", "ports"),
        *("ipBlock", "cidr", "namespaceSelector", "matchLabels", "hard"),
        *("chart", "version", "repositoryOpts", "repo", "plainHttp", "tags", "defaultTags"),
        *("key", "value", "pod-security.kubernetes.io/enforce", "plinth.io/owner"),
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "{", "0.0.0.0/0"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=15,
)
_TYPES = st.sampled_from(
    [
        *("kubernetes:core/v1:Namespace", "kubernetes:core/v1:ResourceQuota"),
        *("kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:core/v1:Service"),
        *("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"),
        *("kubernetes:helm.sh/v3:Chart", "kubernetes:core/v1:PersistentVolumeClaim"),
        *(
            "aws:s3/bucket:Bucket",
            "aws:autoscaling/group:Group",
            "azure-native:storage:StorageAccount",
        ),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resources=st.lists(st.tuples(_TYPES, st.dictionaries(_KEYS, _JSON, max_size=5)), max_size=4),
    provider_inputs=st.dictionaries(_KEYS, _JSON, max_size=3),
)
def test_rules_never_crash_on_unexpected_shapes(
    resources: list[tuple[str, dict[str, Any]]], provider_inputs: dict[str, Any]
) -> None:
    provider = entry("pulumi:providers:aws", provider_inputs, name="aws")
    entries = [
        entry(kind, inputs, name=f"r{index}", provider=f"{provider['urn']}::aws-id")
        for index, (kind, inputs) in enumerate(resources)
    ]
    config = {rule.name: rule.config_for("prod") for rule in _OURS}
    run_pack([provider, *entries], resolve_policy_config(config, "fuzz", _OURS), _OURS)
