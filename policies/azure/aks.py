"""Rules: an AKS cluster has RBAC, a network policy engine, no local accounts in prod,
workload identity and an API server off the internet (private in prod); its nodes (inline
agent pools and `AgentPool` resources alike) encrypt their disks at the host and have no
public IP addresses."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.aws.values import UNKNOWN, known, strings
from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    resource_rule,
    sequence,
    shown,
)

MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"

OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})

# `NetworkPolicy` in azure-native 3.x: none, calico, azure, cilium.
NETWORK_POLICY_ENGINES = ("azure", "calico", "cilium")


def _validate_aks_rbac(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    # The API documents no default, and the setting cannot change after creation.
    enabled = dig(args.props, "enableRBAC")
    if enabled is not True:
        report_violation(f"enableRBAC is {shown(enabled)}, not true", None)


def _validate_aks_network_policy(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    allowed = [str(engine) for engine in args.get_config()["allowedNetworkPolicies"]]
    engine = dig(args.props, "networkProfile", "networkPolicy")
    if str(engine).lower() not in allowed:
        report_violation(
            f"networkProfile.networkPolicy is {shown(engine)} (unset means none: "
            f"NetworkPolicy objects are ignored); use one of {', '.join(allowed)}",
            None,
        )


def _validate_aks_local_accounts(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    disabled = dig(args.props, "disableLocalAccounts")
    if disabled is not True:
        report_violation(
            f"disableLocalAccounts is {shown(disabled)}: the static cluster-admin "
            "credential (az aks get-credentials --admin) stays available",
            None,
        )
    # Local accounts can be disabled only on a cluster integrated with Microsoft Entra ID.
    managed = dig(args.props, "aadProfile", "managed")
    if managed is not True:
        report_violation(
            f"aadProfile.managed is {shown(managed)}: users do not sign in with Microsoft Entra ID",
            None,
        )


def _validate_aks_workload_identity(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    # Both default to off; workload identity needs the issuer to federate tokens.
    issuer = dig(args.props, "oidcIssuerProfile", "enabled")
    if issuer is not True:
        report_violation(
            f"oidcIssuerProfile.enabled is {shown(issuer)}: Entra ID cannot trust the "
            "cluster's service account tokens",
            None,
        )
    workload_identity = dig(args.props, "securityProfile", "workloadIdentity", "enabled")
    if workload_identity is not True:
        report_violation(
            f"securityProfile.workloadIdentity.enabled is {shown(workload_identity)}: pods "
            "cannot sign in as their own Azure identity and fall back to shared keys",
            None,
        )


def _validate_aks_api_server(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    access = known(args.props).get("apiServerAccessProfile")
    if access is UNKNOWN:
        return
    access = access if isinstance(access, dict) else {}
    private = access.get("enablePrivateCluster")
    if private in (True, UNKNOWN):
        return
    if not args.get_config()["allowPublicWithRanges"]:
        report_violation(
            f"apiServerAccessProfile.enablePrivateCluster is {shown(private)} (default "
            "false): the API server is reachable from the internet; set "
            "plinth:cluster.private_cluster: true",
            None,
        )
        return
    ranges = access.get("authorizedIPRanges")
    if ranges is UNKNOWN or isinstance(ranges, str):  # unknown, or kept secret
        return
    listed = strings(ranges or [])
    open_ranges = sorted(set(listed) & OPEN_RANGES)
    if not listed or open_ranges:
        allowed = ", ".join(open_ranges) if open_ranges else "any address (none listed)"
        report_violation(
            f"apiServerAccessProfile.authorizedIPRanges allows {allowed} on the public API "
            "server; list your networks in plinth:cluster.authorized_ip_ranges, or set "
            "plinth:cluster.private_cluster: true",
            None,
        )


def agent_pools(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    """(where, settings) of every agent pool a resource declares: a cluster's inline
    `agentPoolProfiles`, or an `AgentPool` itself."""
    if args.resource_type == AGENT_POOL:
        return [("", args.props)]
    if args.resource_type != MANAGED_CLUSTER:
        return []
    profiles = sequence(dig(args.props, "agentPoolProfiles"))
    return [(f"agentPoolProfiles[{index}].", profile) for index, profile in enumerate(profiles)]


def _validate_aks_encryption_at_host(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    for where, pool in agent_pools(args):
        # Unset is false.
        encrypted = dig(pool, "enableEncryptionAtHost")
        if encrypted is not True:
            report_violation(
                f"{where}enableEncryptionAtHost is {shown(encrypted)}: the nodes' temp "
                "disk, ephemeral OS disk and disk caches are stored unencrypted on the host",
                None,
            )


def _validate_aks_node_public_ip(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    for where, pool in agent_pools(args):
        # Unset is false.
        if dig(pool, "enableNodePublicIP") is True:
            report_violation(
                f"{where}enableNodePublicIP is true: every node gets an address reachable "
                "from the internet",
                None,
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "aks-rbac-enabled",
        "An AKS cluster has Kubernetes RBAC enabled.",
        _validate_aks_rbac,
        severity=Severity.CRITICAL,
        remediation=(
            "In the component that creates the cluster, set its enableRBAC to true; it "
            "cannot change after creation, so the cluster is replaced."
        ),
        # Plinth's operators are granted Roles; without RBAC every identity is admin.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    resource_rule(
        "aks-network-policy",
        "An AKS cluster runs a network policy engine, so NetworkPolicy objects are enforced.",
        _validate_aks_network_policy,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the cluster, set its "
            "networkProfile.networkPolicy to azure, calico or cilium "
            "(cilium needs networkProfile.networkDataplane cilium); "
            f"{environment_key('aks-network-policy', 'allowedNetworkPolicies')} narrows the "
            "choice."
        ),
        # The jobs namespace's default-deny networking is silently a no-op without an
        # engine, in every tier.
        levels=MANDATORY_EVERYWHERE,
        config={
            "allowedNetworkPolicies": {
                "type": "array",
                "items": {"type": "string", "enum": list(NETWORK_POLICY_ENGINES)},
                "minItems": 1,
                "uniqueItems": True,
                "default": list(NETWORK_POLICY_ENGINES),
                "description": "Network policy engines a cluster may use.",
            }
        },
    ),
    resource_rule(
        "aks-local-accounts-disabled",
        "An AKS cluster has local accounts disabled and users sign in with Microsoft Entra ID.",
        _validate_aks_local_accounts,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the cluster, set its aadProfile to {managed: "
            "true, adminGroupObjectIDs: [...]} and disableLocalAccounts to true."
        ),
        # The admin kubeconfig is a shared, unrevocable-per-user credential; developers may
        # use it on dev and staging clusters, prod access goes through Entra ID.
        levels=MANDATORY_IN_PROD,
    ),
    resource_rule(
        "aks-private-api-server",
        "An AKS cluster's API server is private, or public only to listed networks where the "
        "tier allows it.",
        _validate_aks_api_server,
        severity=Severity.HIGH,
        remediation=(
            "Set plinth:cluster.private_cluster: true in the environment file (the prod "
            "tier's default). Where "
            f"{environment_key('aks-private-api-server', 'allowPublicWithRanges')} is true "
            "(the dev and staging tiers), a public API server may stay if "
            "plinth:cluster.authorized_ip_ranges lists your networks (never 0.0.0.0/0)."
        ),
        # As eks-private-endpoint: developers reach dev and staging from laptops; prod is
        # reached from inside the virtual network.
        levels=MANDATORY_IN_PROD,
        config={
            "allowPublicWithRanges": {
                "type": "boolean",
                "default": False,
                "description": (
                    "Accept a public API server whose authorizedIPRanges is an allow-list "
                    "without 0.0.0.0/0 or ::/0. False: the API server must be private."
                ),
            }
        },
        tier_config={
            "dev": {"allowPublicWithRanges": True},
            "staging": {"allowPublicWithRanges": True},
        },
    ),
    resource_rule(
        "aks-workload-identity",
        "An AKS cluster has the OIDC issuer and workload identity on, so pods use their own "
        "Azure identities.",
        _validate_aks_workload_identity,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the cluster, set its oidcIssuerProfile.enabled "
            "and securityProfile.workloadIdentity.enabled to true (both can be turned on in "
            "place)."
        ),
        # Plinth's Blob volumes federate one identity per service account; without it a
        # workload needs the storage account key.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "aks-encryption-at-host",
        "Every AKS agent pool encrypts its disks at the VM host.",
        _validate_aks_encryption_at_host,
        severity=Severity.MEDIUM,
        remediation=(
            "In the component that creates the agent pool (or the cluster's inline pool), "
            "set enableEncryptionAtHost to true; the subscription needs the feature "
            "Microsoft.Compute/EncryptionAtHost registered, and existing pools are replaced."
        ),
        # Managed disks are encrypted at rest by the platform anyway; what only
        # encryption at host covers is the temp disk (scratch) and ephemeral OS disks.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "aks-no-node-public-ip",
        "No AKS agent pool gives its nodes public IP addresses.",
        _validate_aks_node_public_ip,
        severity=Severity.HIGH,
        remediation=(
            "In the component that creates the agent pool (or the cluster's inline pool), "
            "remove enableNodePublicIP or set it to false; reach nodes through the virtual "
            "network, egress leaves through the cluster's load balancer or NAT gateway."
        ),
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
)
