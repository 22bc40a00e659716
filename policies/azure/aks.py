"""Rules: Azure resources (storage accounts, AKS clusters).

Written against azure-native v3 type tokens, input names and enum values (checked in
`pulumi_azure_native/storage/_enums.py` and `containerservice/_enums.py`); rules read plain
dicts and never import the SDK. Where the API documents a default, an unset input is
judged by that default. A value unknown during a preview makes the analyzer report the
rule as not run for that resource (advisory); it runs again when `pulumi up` knows it.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import (
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    resource_rule,
)

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"

# `MinimumTlsVersion` in azure-native 3.x: TLS1_0, TLS1_1, TLS1_2, TLS1_3.
MODERN_TLS_VERSIONS = ("TLS1_2", "TLS1_3")
# `NetworkPolicy` in azure-native 3.x: none, calico, azure, cilium.
NETWORK_POLICY_ENGINES = ("azure", "calico", "cilium")


def _shown(value: Any) -> str:
    """An input value as the message shows it: JSON, or `unset`."""
    return "unset" if value is None else json.dumps(value)


def _validate_storage_public_access(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Unset is false ("the default interpretation is false for this property").
    if dig(args.props, "allowBlobPublicAccess") is True:
        report_violation(
            "allowBlobPublicAccess is true: containers may be made readable anonymously", None
        )


def _validate_storage_transport(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Unset is true ("the default value is true since API version 2019-04-01").
    if dig(args.props, "enableHttpsTrafficOnly") is False:
        report_violation("enableHttpsTrafficOnly is false: plain HTTP requests are accepted", None)
    tls = dig(args.props, "minimumTlsVersion")
    if str(tls).upper() not in MODERN_TLS_VERSIONS:
        report_violation(
            f"minimumTlsVersion is {_shown(tls)} (unset means TLS1_0); "
            f"use one of {', '.join(MODERN_TLS_VERSIONS)}",
            None,
        )


def _validate_aks_rbac(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    # The API documents no default, and the setting cannot change after creation.
    enabled = dig(args.props, "enableRBAC")
    if enabled is not True:
        report_violation(f"enableRBAC is {_shown(enabled)}, not true", None)


def _validate_aks_network_policy(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    allowed = [str(engine) for engine in args.get_config()["allowedNetworkPolicies"]]
    engine = dig(args.props, "networkProfile", "networkPolicy")
    if str(engine).lower() not in allowed:
        report_violation(
            f"networkProfile.networkPolicy is {_shown(engine)} (unset means none: "
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
            f"disableLocalAccounts is {_shown(disabled)}: the static cluster-admin "
            "credential (az aks get-credentials --admin) stays available",
            None,
        )
    # Local accounts can be disabled only on a cluster integrated with Microsoft Entra ID.
    managed = dig(args.props, "aadProfile", "managed")
    if managed is not True:
        report_violation(
            f"aadProfile.managed is {_shown(managed)}: users do not sign in with "
            "Microsoft Entra ID",
            None,
        )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "azure-storage-no-public-blob-access",
        "A storage account does not allow anonymous (public) access to its blobs.",
        _validate_storage_public_access,
        severity=Severity.HIGH,
        remediation="Set allow_blob_public_access=False (or leave it unset) on the account.",
        # A public container is a data leak in any tier; Plinth has no use for one.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    resource_rule(
        "azure-storage-secure-transport",
        "A storage account accepts HTTPS only, with TLS 1.2 or newer.",
        _validate_storage_transport,
        severity=Severity.HIGH,
        remediation=(
            'Set minimum_tls_version="TLS1_2" and leave enable_https_traffic_only unset or True.'
        ),
        # Free, and every supported client speaks TLS 1.2: no reason for a tier to differ.
        levels=MANDATORY_EVERYWHERE,
    ),
    resource_rule(
        "aks-rbac-enabled",
        "An AKS cluster has Kubernetes RBAC enabled.",
        _validate_aks_rbac,
        severity=Severity.CRITICAL,
        remediation=(
            "Set enable_rbac=True; it cannot change after creation, so the cluster is replaced."
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
            'Set network_profile.network_policy to "azure", "calico" or "cilium" ("cilium" '
            'needs network_dataplane="cilium").'
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
            'Set aad_profile={"managed": True, "admin_group_object_ids": [...]} and '
            "disable_local_accounts=True."
        ),
        # The admin kubeconfig is a shared, unrevocable-per-user credential; developers may
        # use it on dev and staging clusters, prod access goes through Entra ID.
        levels=MANDATORY_IN_PROD,
    ),
)
