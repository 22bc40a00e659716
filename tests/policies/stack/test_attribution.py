"""kubernetes-required-labels and cloud-required-tags (policies/stack/attribution.py),
through the pack as `plinth check` runs it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policy_harness import entry, hits, kubernetes

LABELS = "kubernetes-required-labels"
TAGS = "cloud-required-tags"

PLATFORM_LABELS = {
    "plinth.io/owner": "ml-platform",
    "plinth.io/cost-centre": "cc-4711",
    "plinth.io/environment": "onprem",
}
OWNERSHIP_TAGS = {"owner": "ml-platform", "cost-centre": "cc-4711", "environment": "prod"}


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
