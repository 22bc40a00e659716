"""Rules: everything is attributable to its owner: Kubernetes objects carry the ownership
labels, AWS and Azure resources the ownership tags.

Cloud tags: a resource is held to the required tags when it has a `tags` input or when
its class in the pinned SDK (pulumi_aws, pulumi_azure_native) takes a `tags` argument
(policies/taggable_types.py, generated from the SDKs); a type the SDK does not know is
judged only by a `tags` input it has. AWS resources also count the tags of their
provider's `defaultTags`, as the AWS provider applies them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.framework import (
    ADVISORY_IN_DEV,
    Rule,
    dig,
    sequence,
    stack_rule,
    string_list_schema,
)
from policies.taggable_types import TAGGABLE_TYPES

AWS_PROVIDER = "pulumi:providers:aws"
DEFAULT_LABELS = ("plinth.io/owner", "plinth.io/cost-centre", "plinth.io/environment")
# Plain keys: Azure tag names may not contain "/" and AWS reserves the "aws:" prefix.
DEFAULT_TAGS = ("owner", "cost-centre", "environment")
# The AWS provider applies defaultTags to every resource with tags except Auto Scaling
# groups (HashiCorp, "Default Tags in the Terraform AWS Provider"; pulumi-aws bridges it).
_NO_DEFAULT_TAGS = frozenset({"aws:autoscaling/group:Group"})


def _is_kubernetes_object(resource: PolicyResource) -> bool:
    # Typed resources and custom resources carry apiVersion and kind in their inputs;
    # charts, yaml and kustomize components, Helm releases and providers do not. Lists and
    # patches have no labels of their own.
    return (
        resource.resource_type.startswith("kubernetes:")
        and not resource.resource_type.endswith(("List", "Patch"))
        and isinstance(resource.props.get("apiVersion"), str)
        and isinstance(resource.props.get("kind"), str)
    )


def _validate_labels(args: StackValidationArgs, report: ReportViolation) -> None:
    required: list[str] = args.get_config()["requiredLabels"]
    exempt = set(args.get_config()["exemptKinds"])
    for resource in args.resources:
        if not _is_kubernetes_object(resource) or resource.props["kind"] in exempt:
            continue
        present = _keys(dig(resource.props, "metadata", "labels"))
        missing = [key for key in required if key not in present]
        if missing:
            report(
                f"{resource.props['kind']} {resource.name} lacks the labels {', '.join(missing)}: "
                "create its metadata with cluster.metadata(...), which adds them from "
                "plinth:ownership",
                resource.urn,
            )


def _keys(tags: Any) -> set[str]:
    """Keys with a non-empty value, of a tag map or of a list of {key, value} items."""
    if isinstance(tags, Mapping):
        return {str(key) for key, value in tags.items() if isinstance(value, str) and value}
    return {
        item["key"]
        for item in sequence(tags)
        if isinstance(item, Mapping) and isinstance(item.get("key"), str) and item.get("value")
    }


def _default_tags(resource_type: str, provider: PolicyProviderResource | None) -> set[str]:
    if provider is None or provider.resource_type != AWS_PROVIDER:
        return set()
    if resource_type in _NO_DEFAULT_TAGS:
        return set()
    default_tags = provider.props.get("defaultTags")
    if isinstance(default_tags, str):  # provider inputs that are objects arrive as JSON
        try:
            default_tags = json.loads(default_tags)
        except json.JSONDecodeError:
            return set()
    return _keys(dig(default_tags, "tags"))


def accepts_tags(resource_type: str) -> bool:
    """Whether the SDK's class for `resource_type` takes a `tags` input; False when the SDKs
    do not know the type. The answer is a table generated from pulumi_aws and
    pulumi_azure_native (policies/taggable_types.py), not an import of their services."""
    return resource_type in TAGGABLE_TYPES


def _validate_tags(args: StackValidationArgs, report: ReportViolation) -> None:
    required: list[str] = args.get_config()["requiredTags"]
    for resource in args.resources:
        kind = resource.resource_type
        if not kind.startswith(("aws:", "azure-native:")):
            continue
        if "tags" not in resource.props and not accepts_tags(kind):
            continue
        present = _keys(resource.props.get("tags")) | _default_tags(kind, resource.provider)
        missing = [key for key in required if key not in present]
        if missing:
            where = "tags or its provider's defaultTags" if kind.startswith("aws:") else "tags"
            report(
                f"{kind} {resource.name} lacks the tags {', '.join(missing)} in its {where}",
                resource.urn,
            )


RULES: tuple[Rule, ...] = (
    stack_rule(
        "kubernetes-required-labels",
        "Every Kubernetes object carries the platform's ownership labels.",
        _validate_labels,
        severity=Severity.LOW,
        remediation=(
            "Build metadata with Cluster.metadata(), which adds the platform labels from "
            "plinth:ownership; chart values get them through commonLabels (or the chart's "
            "equivalent)."
        ),
        # dev: a laptop cluster has one owner; in staging and prod, cost and on-call
        # reports group objects by these labels.
        levels=ADVISORY_IN_DEV,
        config={
            "requiredLabels": string_list_schema(
                "Label keys every Kubernetes object must carry, with a non-empty value.",
                DEFAULT_LABELS,
            ),
            # CRDs are upstream's API definitions, applied byte-for-byte from the release
            # (yaml/v2:ConfigFile) so that they match what the CRD tests validate against.
            "exemptKinds": string_list_schema(
                "Kinds exempt from the labels: definitions shared by the whole cluster.",
                ("CustomResourceDefinition",),
            ),
        },
    ),
    stack_rule(
        "cloud-required-tags",
        "Every AWS and Azure resource that takes tags carries the ownership tags.",
        _validate_tags,
        severity=Severity.LOW,
        remediation=(
            "AWS: Plinth's eks target sets its provider's defaultTags from plinth:ownership "
            "in the environment file (stacks/eks.py); a resource on another provider sets "
            "its own tags (an Auto Scaling group lists them). Azure: set tags on every "
            "resource that takes them."
        ),
        # dev: throwaway accounts; in staging and prod, the cloud bill is split by these.
        levels=ADVISORY_IN_DEV,
        config={
            "requiredTags": string_list_schema(
                "Tag keys every AWS and Azure resource that takes tags must carry, with a "
                "non-empty value (AWS: the resource's tags merged with defaultTags).",
                DEFAULT_TAGS,
            )
        },
    ),
)
