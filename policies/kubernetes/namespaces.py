"""Rules: every namespace declares its Pod Security level; workload namespaces are fenced.

A *workload namespace* is every Namespace the stack creates except the platform
namespaces named in the rule's `platformNamespaces` knob: Kubernetes' own by default, plus
the ones the environment's components install their controllers into, which
`plinth policy-config ENV` and `plinth check` add from the environment file. Failing
closed is deliberate: a new namespace is held to the workload standard (restricted pods,
a quota, default-deny networking) until someone declares it a platform namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import (
    ADVISORY_IN_DEV,
    Rule,
    dig,
    environment_key,
    resource_rule,
    sequence,
    stack_rule,
)

NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

POD_SECURITY_RULE = "namespace-pod-security"
FENCES_RULE = "workload-namespace-fences"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_LEVELS = ("privileged", "baseline", "restricted")
WORKLOAD_LEVEL = "restricted"

# Kubernetes' own namespaces. The namespaces Plinth's components install their
# controllers into depend on the environment (plinth:spark_operator.namespace, ...):
# `plinth policy-config ENV` and `plinth check` add them (plinth/exemptions.py).
KUBERNETES_NAMESPACES = ("kube-node-lease", "kube-public", "kube-system")
PLATFORM_NAMESPACES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": list(KUBERNETES_NAMESPACES),
    "description": "Namespaces that run platform controllers, not workloads: they must "
    "declare a Pod Security level but need not be restricted or fenced.",
}

# An ipBlock with one of these CIDRs admits every address.
_EVERY_ADDRESS = ("0.0.0.0/0", "::/0")


def object_namespace(props: Mapping[str, Any], provider: PolicyProviderResource | None) -> str:
    """The namespace a namespaced object lands in: its own, else its provider's default."""
    namespace = dig(props, "metadata", "namespace")
    if isinstance(namespace, str) and namespace:
        return namespace
    default = dig(provider.props, "namespace") if provider is not None else None
    return default if isinstance(default, str) and default else "default"


def provider_urn(resource: PolicyResource) -> str:
    """The URN of the provider (cluster) a resource deploys through; "" when not known."""
    return str(resource.provider.urn) if resource.provider is not None else ""


def _validate_pod_security(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NAMESPACE:
        return
    name = dig(args.props, "metadata", "name")
    level = dig(args.props, "metadata", "labels", PSA_ENFORCE)
    platform = name in args.get_config()["platformNamespaces"]
    shown = name if isinstance(name, str) else args.name
    if level not in PSA_LEVELS:
        wanted = "privileged, baseline or restricted" if platform else WORKLOAD_LEVEL
        found = "is missing" if level is None else f"is {level!r}, not a Pod Security level"
        report(f"namespace {shown}: label {PSA_ENFORCE} {found}; set it to {wanted}", args.urn)
    elif not platform and level != WORKLOAD_LEVEL:
        report(
            f"namespace {shown} is a workload namespace but enforces {level!r}; set "
            f"{PSA_ENFORCE}: {WORKLOAD_LEVEL}, or name it in "
            f"{environment_key(POD_SECURITY_RULE, 'platformNamespaces')} if it runs "
            "platform controllers",
            args.urn,
        )


def _empty_selector(selector: Any) -> bool:
    """A label selector that matches everything: present, without labels or expressions."""
    return isinstance(selector, Mapping) and not any(
        selector.get(key) for key in ("matchLabels", "matchExpressions")
    )


def _policy_types(policy: Mapping[str, Any]) -> set[str]:
    """The directions a NetworkPolicy isolates, with the API's default when unset."""
    declared = sequence(dig(policy, "spec", "policyTypes"))
    if declared:
        return {str(kind) for kind in declared}
    return {"Ingress", "Egress"} if sequence(dig(policy, "spec", "egress")) else {"Ingress"}


def _is_every_peer(peer: Any) -> bool:
    if not isinstance(peer, Mapping):
        return False
    if dig(peer, "ipBlock", "cidr") in _EVERY_ADDRESS:
        return True
    pods = peer.get("podSelector")
    return _empty_selector(peer.get("namespaceSelector")) and (
        pods is None or _empty_selector(pods)
    )


def _blanket_directions(policy: Mapping[str, Any]) -> list[str]:
    """Directions in which a rule of `policy` admits every peer on every port."""
    found = []
    for direction, peers_key in (("Ingress", "from"), ("Egress", "to")):
        for rule in sequence(dig(policy, "spec", direction.lower())):
            peers = sequence(dig(rule, peers_key))
            every_peer = not peers or any(_is_every_peer(peer) for peer in peers)
            if every_peer and not sequence(dig(rule, "ports")):
                found.append(direction)
                break
    return found


def _validate_fences(args: StackValidationArgs, report: ReportViolation) -> None:
    platform = set(args.get_config()["platformNamespaces"])
    quotas: set[tuple[str, str]] = set()
    denied: dict[tuple[str, str], set[str]] = {}
    blanket: dict[tuple[str, str], set[str]] = {}
    for resource in args.resources:
        if resource.resource_type not in (RESOURCE_QUOTA, NETWORK_POLICY):
            continue
        where = (provider_urn(resource), object_namespace(resource.props, resource.provider))
        if resource.resource_type == RESOURCE_QUOTA:
            if dig(resource.props, "spec", "hard"):
                quotas.add(where)
        elif _empty_selector(dig(resource.props, "spec", "podSelector")):
            opened = _blanket_directions(resource.props)
            blanket.setdefault(where, set()).update(opened)
            closed = _policy_types(resource.props) - set(opened)
            denied.setdefault(where, set()).update(closed)
    for resource in args.resources:
        name = dig(resource.props, "metadata", "name")
        if resource.resource_type != NAMESPACE or not isinstance(name, str) or name in platform:
            continue
        problems = []
        if not _in_cluster(quotas, resource, name):
            problems.append("no ResourceQuota with spec.hard in this stack")
        missing = sorted({"Ingress", "Egress"} - _union_in_cluster(denied, resource, name))
        if missing:
            problems.append(
                "no NetworkPolicy with podSelector {} isolating "
                + " and ".join(missing)
                + " in this stack"
            )
        opened = sorted(_union_in_cluster(blanket, resource, name))
        if opened:
            problems.append(
                "a NetworkPolicy with podSelector {} allows every peer on every port in "
                + " and ".join(opened)
                + ": name peers or ports"
            )
        if problems:
            report(
                f"workload namespace {name}: {'; '.join(problems)} (JobsNamespace has both "
                "fences; a namespace of platform controllers belongs in "
                f"{environment_key(FENCES_RULE, 'platformNamespaces')})",
                resource.urn,
            )


def _same_cluster(key: tuple[str, str], resource: PolicyResource, name: str) -> bool:
    # A component (a chart) may not report its provider: an unknown provider matches any.
    provider = provider_urn(resource)
    return key[1] == name and (not key[0] or not provider or key[0] == provider)


def _in_cluster(keys: set[tuple[str, str]], resource: PolicyResource, name: str) -> bool:
    return any(_same_cluster(key, resource, name) for key in keys)


def _union_in_cluster(
    found: Mapping[tuple[str, str], set[str]], resource: PolicyResource, name: str
) -> set[str]:
    return {
        item for key, items in found.items() if _same_cluster(key, resource, name) for item in items
    }


RULES: tuple[Rule, ...] = (
    resource_rule(
        POD_SECURITY_RULE,
        "Every namespace enforces a Pod Security Admission level; workload namespaces "
        "enforce restricted.",
        _validate_pod_security,
        severity=Severity.HIGH,
        remediation=(
            "Label the namespace pod-security.kubernetes.io/enforce: restricted in the "
            "component that creates it (cluster.metadata(name, "
            "**namespace_labels('restricted'))). The namespaces Plinth's components run "
            "their controllers in are platform namespaces and may enforce baseline or "
            "privileged; name any other in "
            f"{environment_key(POD_SECURITY_RULE, 'platformNamespaces')}."
        ),
        # dev: a developer may try a chart before its namespace is settled; staging and
        # prod run what users run, so the level must be there.
        levels=ADVISORY_IN_DEV,
        config={"platformNamespaces": PLATFORM_NAMESPACES_SCHEMA},
    ),
    stack_rule(
        FENCES_RULE,
        "Every workload namespace has a ResourceQuota and a default-deny NetworkPolicy.",
        _validate_fences,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the namespace, create a ResourceQuota with "
            "spec.hard in it and a NetworkPolicy with podSelector {} and policyTypes "
            "[Ingress, Egress] whose rules each name peers or ports (JobsNamespace, "
            "components/jobs_namespace/component.py, does both; its quota is plinth:jobs.quota). A "
            "namespace of platform controllers goes in "
            f"{environment_key(FENCES_RULE, 'platformNamespaces')}."
        ),
        # dev: a laptop cluster has one user, whom fences protect from no one; staging and
        # prod share a cluster between teams, where one job must not starve or reach another.
        levels=ADVISORY_IN_DEV,
        config={"platformNamespaces": PLATFORM_NAMESPACES_SCHEMA},
    ),
)
