"""Rules over the whole stack: data is protected, namespaces have one owner, everything is
attributable (Kubernetes labels, AWS and Azure tags).

Cloud tags: a resource is held to the required tags when it has a `tags` input or when
its class in the installed SDK (pulumi_aws, pulumi_azure_native) takes a `tags` argument;
a type the SDK does not know is judged only by a `tags` input it has. AWS resources also
count the tags of their provider's `defaultTags`, as the AWS provider applies them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import keyword
import re
import warnings
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.charts import V3_RELEASE, V4_CHART
from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    sequence,
    stack_rule,
)
from policies.namespaces import NAMESPACE, provider_urn
from policies.stateful import STATEFUL_TYPES

STACK = "pulumi:pulumi:Stack"
AWS_PROVIDER = "pulumi:providers:aws"
DEFAULT_LABELS = ("plinth.io/owner", "plinth.io/cost-centre", "plinth.io/environment")
# Plain keys: Azure tag names may not contain "/" and AWS reserves the "aws:" prefix.
DEFAULT_TAGS = ("owner", "cost-centre", "environment")
# The AWS provider applies defaultTags to every resource with tags except Auto Scaling
# groups (HashiCorp, "Default Tags in the Terraform AWS Provider"; pulumi-aws bridges it).
_NO_DEFAULT_TAGS = frozenset({"aws:autoscaling/group:Group"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _string_list(description: str, default: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": list(default),
        "description": description,
    }


def _validate_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    stateful = STATEFUL_TYPES | set(args.get_config()["additionalStatefulTypes"])
    for resource in args.resources:
        if resource.resource_type in stateful and not resource.opts.protect:
            report(
                f"{resource.resource_type} {resource.name} holds data and is not protected: "
                "pass ResourceOptions(protect=True), so that no update or destroy deletes it",
                resource.urn,
            )


def _lineage(resource: PolicyResource) -> set[str]:
    """URNs of the resource's ancestors: its parent, the parent's parent, and so on."""
    seen: set[str] = set()
    parent = resource.parent
    while parent is not None and parent.urn not in seen:
        seen.add(parent.urn)
        parent = parent.parent
    return seen


def _owner(resource: PolicyResource) -> PolicyResource | None:
    """The component a resource was created in; None at the top of the program."""
    parent = resource.parent
    return None if parent is None or parent.resource_type == STACK else parent


def _described(owner: PolicyResource | None) -> str:
    return "the program" if owner is None else f"{owner.name} ({owner.resource_type})"


def _same_cluster(one: PolicyResource, other: PolicyResource) -> bool:
    # A component (a chart) may not report its provider: an unknown provider matches any.
    first, second = provider_urn(one), provider_urn(other)
    return not first or not second or first == second


def _validate_single_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    declared: dict[str, list[PolicyResource]] = {}
    for resource in args.resources:
        name = dig(resource.props, "metadata", "name")
        if resource.resource_type == NAMESPACE and isinstance(name, str):
            declared.setdefault(name, []).append(resource)
    for name, namespaces in declared.items():
        for namespace in namespaces:
            others = [
                _described(_owner(other))
                for other in namespaces
                if other is not namespace and _same_cluster(namespace, other)
            ]
            if others:
                report(
                    f"namespace {name} is declared by {_described(_owner(namespace))} and "
                    f"again by {', '.join(sorted(others))}: keep one Namespace and pass it "
                    "to the others",
                    namespace.urn,
                )
    # The CLI gives stack rules outputs, and a chart component's outputs do not repeat its
    # `namespace` input: this half runs in `plinth check`, which passes inputs.
    for chart in args.resources:
        if chart.resource_type not in (V4_CHART, V3_RELEASE):
            continue
        target = chart.props.get("namespace")
        if not isinstance(target, str):
            continue
        lineage = _lineage(chart)
        for namespace in declared.get(target, []):
            owner = _owner(namespace)
            if owner is not None and owner.urn not in lineage and _same_cluster(chart, namespace):
                report(
                    f"chart {chart.name} installs into namespace {target}, which "
                    f"{_described(owner)} creates: install it into a namespace its own "
                    "component creates",
                    chart.urn,
                )


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
                "create its metadata with cluster.metadata(...), which adds them",
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


def _sdk_module(resource_type: str) -> tuple[str, str] | None:
    """The Python module and class name of an aws or azure-native type token."""
    parts = resource_type.split(":")
    if len(parts) != 3:
        return None
    package, module_token, class_name = parts
    if package == "aws":
        first = module_token.split("/")[0]
        segments = [] if first == "index" else [f"{first}_" if keyword.iskeyword(first) else first]
        root = "pulumi_aws"
    elif package == "azure-native":
        segments = module_token.split("/")
        root = "pulumi_azure_native"
    else:
        return None
    if not all(_IDENTIFIER.match(part) for part in [*segments, class_name]):
        return None
    return ".".join([root, *segments]), class_name


@functools.cache
def accepts_tags(resource_type: str) -> bool | None:
    """Whether the installed SDK's class for `resource_type` takes a `tags` input; None
    when the SDK is not installed or does not know the type."""
    located = _sdk_module(resource_type)
    if located is None:
        return None
    module_name, class_name = located
    with warnings.catch_warnings():
        # The SDKs warn, as they load, about deprecated classes this rule does not use; the
        # root packages load their modules lazily, on first attribute access.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            module = importlib.import_module(module_name)
            resource_class = getattr(module, class_name, None)
            args_class = getattr(module, f"{class_name}Args", None)
        except ImportError:
            return None
    if (
        not isinstance(resource_class, type)
        or pulumi.get_type_token(resource_class) != resource_type
        or not isinstance(args_class, type)
    ):
        return None
    return "tags" in inspect.signature(args_class).parameters


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
        "stateful-resources-protected",
        "Every resource that holds data (volumes, buckets, keys, databases) is protected.",
        _validate_protected,
        severity=Severity.HIGH,
        remediation=(
            "Create it with ResourceOptions(protect=True); deleting it then takes an explicit "
            "`pulumi state unprotect` first. Types are in policies/stateful.py."
        ),
        # prod: losing prod data is unrecoverable; dev and staging are rebuilt from
        # scratch often, where protection only gets in the way of `pulumi destroy`.
        levels=MANDATORY_IN_PROD,
        config={
            "additionalStatefulTypes": _string_list(
                "More type tokens to treat as stateful, beyond policies/stateful.py."
            )
        },
        waivable_in_prod=False,
    ),
    stack_rule(
        "namespace-single-owner",
        "Each namespace is created by one component, and charts install only into "
        "namespaces their own component (or an enclosing one) creates.",
        _validate_single_owner,
        severity=Severity.HIGH,
        remediation=(
            "Keep one Namespace object per name and cluster; a component that needs another "
            "component's namespace takes that component as an argument and installs only "
            "namespaced objects into it, not a chart."
        ),
        # Everywhere: two owners of one namespace means the first one removed deletes
        # the namespace, and everything in it, from under the other.
        levels=MANDATORY_EVERYWHERE,
    ),
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
            "requiredLabels": _string_list(
                "Label keys every Kubernetes object must carry, with a non-empty value.",
                DEFAULT_LABELS,
            ),
            # CRDs are upstream's API definitions, applied byte-for-byte from the release
            # (yaml/v2:ConfigFile) so that they match what the CRD tests validate against.
            "exemptKinds": _string_list(
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
            "AWS: set the provider's defaultTags (or the resource's tags) to the required "
            "keys; Azure: set tags on every resource that takes them."
        ),
        # dev: throwaway accounts; in staging and prod, the cloud bill is split by these.
        levels=ADVISORY_IN_DEV,
        config={
            "requiredTags": _string_list(
                "Tag keys every AWS and Azure resource that takes tags must carry, with a "
                "non-empty value (AWS: the resource's tags merged with defaultTags).",
                DEFAULT_TAGS,
            )
        },
    ),
)
