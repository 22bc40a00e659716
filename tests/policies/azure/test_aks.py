"""Azure rules (policies/cloud_azure.py) on hand-built storage accounts and AKS clusters.

Each resource has one valid-input factory; each failing case changes one field of it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE

from plinth.check import Violation
from policies import cloud_azure
from tests.policy_harness import entry, hits


def storage_account(**changes: Any) -> dict[str, Any]:
    """A compliant account; a change of None removes the input."""
    inputs = {
        "resourceGroupName": "plinth-prod",
        "kind": "StorageV2",
        "sku": {"name": "Standard_ZRS"},
        "allowBlobPublicAccess": False,
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
    }
    merged = {k: v for k, v in (inputs | changes).items() if v is not None}
    return entry(cloud_azure.STORAGE_ACCOUNT, merged, name="artifacts")


def managed_cluster(**changes: Any) -> dict[str, Any]:
    """A compliant AKS cluster; a change of None removes the input."""
    inputs = {
        "resourceGroupName": "plinth-prod",
        "dnsPrefix": "plinth-prod",
        "enableRBAC": True,
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "networkProfile": {
            "networkPlugin": "azure",
            "networkDataplane": "cilium",
            "networkPolicy": "cilium",
        },
    }
    merged = {k: v for k, v in (inputs | changes).items() if v is not None}
    return entry(cloud_azure.MANAGED_CLUSTER, merged, name="cluster")


def network_policy(engine: str | None) -> dict[str, Any]:
    profile = {"networkPlugin": "azure", "networkPolicy": engine}
    return managed_cluster(networkProfile={k: v for k, v in profile.items() if v is not None})


def levels_by_tier(rule: str, resource: dict[str, Any]) -> dict[str, list[str]]:
    return {
        tier: [found.level for found in hits(rule, resource, tier=tier)]
        for tier in ("dev", "staging", "prod")
    }


def messages(found: list[Violation]) -> list[str]:
    return [violation.message for violation in found]


# ---------------------------------------------------------------------------------------
# azure-storage-no-public-blob-access

PUBLIC_BLOBS = "azure-storage-no-public-blob-access"


@pytest.mark.parametrize("allow", [False, None])  # unset: the API's default is false
def test_an_account_without_public_blob_access_passes(allow: bool | None) -> None:
    assert hits(PUBLIC_BLOBS, storage_account(allowBlobPublicAccess=allow)) == []


def test_public_blob_access_is_refused_in_every_tier() -> None:
    account = storage_account(allowBlobPublicAccess=True)
    assert levels_by_tier(PUBLIC_BLOBS, account) == {
        "dev": ["mandatory"],
        "staging": ["mandatory"],
        "prod": ["mandatory"],
    }
    assert "allowBlobPublicAccess is true" in messages(hits(PUBLIC_BLOBS, account))[0]


def test_a_value_unknown_during_preview_is_reported_as_not_run() -> None:
    found = hits(PUBLIC_BLOBS, storage_account(allowBlobPublicAccess=UNKNOWN_BOOLEAN_VALUE))
    assert [v.level for v in found] == ["advisory"]
    assert "can't be known during preview" in found[0].message


# ---------------------------------------------------------------------------------------
# azure-storage-secure-transport

TRANSPORT = "azure-storage-secure-transport"


@pytest.mark.parametrize("tls", ["TLS1_2", "TLS1_3"])
def test_an_account_with_https_and_modern_tls_passes(tls: str) -> None:
    assert hits(TRANSPORT, storage_account(minimumTlsVersion=tls)) == []


def test_https_only_left_at_its_default_passes() -> None:
    assert hits(TRANSPORT, storage_account(enableHttpsTrafficOnly=None)) == []


def test_plain_http_is_refused_in_every_tier() -> None:
    account = storage_account(enableHttpsTrafficOnly=False)
    assert levels_by_tier(TRANSPORT, account)["dev"] == ["mandatory"]
    assert messages(hits(TRANSPORT, account)) == [
        "enableHttpsTrafficOnly is false: plain HTTP requests are accepted"
    ]


@pytest.mark.parametrize(
    ("tls", "shown"), [("TLS1_0", '"TLS1_0"'), ("TLS1_1", '"TLS1_1"'), (None, "unset")]
)
def test_old_or_unset_tls_is_refused(tls: str | None, shown: str) -> None:
    found = hits(TRANSPORT, storage_account(minimumTlsVersion=tls))
    assert messages(found) == [
        f"minimumTlsVersion is {shown} (unset means TLS1_0); use one of TLS1_2, TLS1_3"
    ]


# ---------------------------------------------------------------------------------------
# aks-rbac-enabled

RBAC = "aks-rbac-enabled"


def test_a_cluster_with_rbac_passes() -> None:
    assert hits(RBAC, managed_cluster()) == []


@pytest.mark.parametrize(("enabled", "shown"), [(False, "false"), (None, "unset")])
def test_rbac_off_or_unset_is_refused_in_every_tier(enabled: bool | None, shown: str) -> None:
    cluster = managed_cluster(enableRBAC=enabled)
    assert levels_by_tier(RBAC, cluster)["dev"] == ["mandatory"]
    assert messages(hits(RBAC, cluster)) == [f"enableRBAC is {shown}, not true"]


# ---------------------------------------------------------------------------------------
# aks-network-policy

NETWORK_POLICY = "aks-network-policy"


@pytest.mark.parametrize("engine", ["azure", "calico", "cilium"])
def test_a_cluster_with_a_network_policy_engine_passes(engine: str) -> None:
    assert hits(NETWORK_POLICY, network_policy(engine)) == []


@pytest.mark.parametrize(("engine", "shown"), [("none", '"none"'), (None, "unset")])
def test_no_engine_is_refused_in_every_tier(engine: str | None, shown: str) -> None:
    cluster = network_policy(engine)
    assert levels_by_tier(NETWORK_POLICY, cluster)["dev"] == ["mandatory"]
    assert messages(hits(NETWORK_POLICY, cluster))[0].startswith(
        f"networkProfile.networkPolicy is {shown} (unset means none"
    )


def test_a_cluster_without_a_network_profile_is_refused() -> None:
    assert len(hits(NETWORK_POLICY, managed_cluster(networkProfile=None))) == 1


def test_the_allowed_engines_are_configurable() -> None:
    config = {NETWORK_POLICY: {"allowedNetworkPolicies": ["cilium"]}}
    assert hits(NETWORK_POLICY, network_policy("cilium"), config=config) == []
    found = hits(NETWORK_POLICY, network_policy("calico"), config=config)
    assert messages(found)[0].endswith("use one of cilium")


# ---------------------------------------------------------------------------------------
# aks-local-accounts-disabled

LOCAL_ACCOUNTS = "aks-local-accounts-disabled"


def test_a_cluster_signing_in_through_entra_id_only_passes() -> None:
    assert hits(LOCAL_ACCOUNTS, managed_cluster()) == []


def test_local_accounts_are_refused_in_prod_only() -> None:
    cluster = managed_cluster(disableLocalAccounts=None)
    assert levels_by_tier(LOCAL_ACCOUNTS, cluster) == {
        "dev": ["advisory"],
        "staging": ["advisory"],
        "prod": ["mandatory"],
    }
    assert messages(hits(LOCAL_ACCOUNTS, cluster))[0].startswith("disableLocalAccounts is unset")


@pytest.mark.parametrize("profile", [None, {"managed": False}, {"enableAzureRBAC": True}])
def test_entra_id_integration_is_required(profile: dict[str, Any] | None) -> None:
    found = hits(LOCAL_ACCOUNTS, managed_cluster(aadProfile=profile))
    assert len(found) == 1
    assert found[0].message.startswith("aadProfile.managed is")
