"""Rules: an AKS cluster has RBAC, a network policy engine, and no local accounts in prod."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import (
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    resource_rule,
    shown,
)

MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"

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
)
