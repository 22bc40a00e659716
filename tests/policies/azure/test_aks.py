"""AKS rules (policies/azure/aks.py) on a hand-built cluster: one valid-input factory,
each failing case changes one field of it."""

from __future__ import annotations

from typing import Any

import pytest

from plinth.check import Violation
from policies.azure import aks
from tests.policy_harness import entry, hits


def managed_cluster(**changes: Any) -> dict[str, Any]:
    """A compliant AKS cluster; a change of None removes the input."""
    inputs = {
        "resourceGroupName": "plinth-prod",
        "dnsPrefix": "plinth-prod",
        "enableRBAC": True,
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "oidcIssuerProfile": {"enabled": True},
        "securityProfile": {"workloadIdentity": {"enabled": True}},
        "apiServerAccessProfile": {"enablePrivateCluster": True},
        "networkProfile": {
            "networkPlugin": "azure",
            "networkDataplane": "cilium",
            "networkPolicy": "cilium",
        },
    }
    merged = {k: v for k, v in (inputs | changes).items() if v is not None}
    return entry(aks.MANAGED_CLUSTER, merged, name="cluster")


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


# ---------------------------------------------------------------------------------------
# aks-workload-identity

WORKLOAD_IDENTITY = "aks-workload-identity"


def test_a_cluster_with_workload_identity_passes() -> None:
    assert hits(WORKLOAD_IDENTITY, managed_cluster()) == []


@pytest.mark.parametrize(
    ("change", "start"),
    [
        ({"oidcIssuerProfile": None}, "oidcIssuerProfile.enabled is unset"),
        ({"oidcIssuerProfile": {"enabled": False}}, "oidcIssuerProfile.enabled is false"),
        ({"securityProfile": None}, "securityProfile.workloadIdentity.enabled is unset"),
        (
            {"securityProfile": {"workloadIdentity": {"enabled": False}}},
            "securityProfile.workloadIdentity.enabled is false",
        ),
    ],
)
def test_workload_identity_off_is_refused_outside_dev(change: dict[str, Any], start: str) -> None:
    cluster = managed_cluster(**change)
    assert levels_by_tier(WORKLOAD_IDENTITY, cluster) == {
        "dev": ["advisory"],
        "staging": ["mandatory"],
        "prod": ["mandatory"],
    }
    assert messages(hits(WORKLOAD_IDENTITY, cluster))[0].startswith(start)


# ---------------------------------------------------------------------------------------
# aks-encryption-at-host and aks-no-node-public-ip: inline pools and AgentPool resources

ENCRYPTION_AT_HOST = "aks-encryption-at-host"
NODE_PUBLIC_IP = "aks-no-node-public-ip"


def agent_pool(**changes: Any) -> dict[str, Any]:
    """A compliant AgentPool resource; a change of None removes the input."""
    inputs = {
        "resourceGroupName": "plinth-prod",
        "resourceName": "plinth-prod",
        "agentPoolName": "gpu",
        "vmSize": "Standard_NC24ads_A100_v4",
        "enableEncryptionAtHost": True,
        "enableNodePublicIP": False,
    }
    merged = {k: v for k, v in (inputs | changes).items() if v is not None}
    return entry(aks.AGENT_POOL, merged, name="pool")


def inline_pool(**changes: Any) -> dict[str, Any]:
    """A compliant cluster whose one inline pool has `changes`."""
    profile = {"name": "system", "enableEncryptionAtHost": True, "enableNodePublicIP": False}
    merged = {k: v for k, v in (profile | changes).items() if v is not None}
    return managed_cluster(agentPoolProfiles=[merged])


@pytest.mark.parametrize("rule", [ENCRYPTION_AT_HOST, NODE_PUBLIC_IP])
def test_compliant_pools_pass(rule: str) -> None:
    assert hits(rule, agent_pool()) == []
    assert hits(rule, inline_pool()) == []


@pytest.mark.parametrize("encrypted", [False, None])
def test_a_pool_without_encryption_at_host_is_refused(encrypted: bool | None) -> None:
    pool = agent_pool(enableEncryptionAtHost=encrypted)
    assert levels_by_tier(ENCRYPTION_AT_HOST, pool)["prod"] == ["mandatory"]
    assert messages(hits(ENCRYPTION_AT_HOST, pool))[0].startswith("enableEncryptionAtHost is")
    inline = hits(ENCRYPTION_AT_HOST, inline_pool(enableEncryptionAtHost=encrypted))
    assert messages(inline)[0].startswith("agentPoolProfiles[0].enableEncryptionAtHost is")


def test_a_pool_with_node_public_ips_is_refused_in_every_tier() -> None:
    pool = agent_pool(enableNodePublicIP=True)
    assert levels_by_tier(NODE_PUBLIC_IP, pool) == {
        "dev": ["mandatory"],
        "staging": ["mandatory"],
        "prod": ["mandatory"],
    }
    inline = hits(NODE_PUBLIC_IP, inline_pool(enableNodePublicIP=True))
    assert messages(inline) == [
        "agentPoolProfiles[0].enableNodePublicIP is true: every node gets an address "
        "reachable from the internet"
    ]


def test_unset_node_public_ip_is_the_default_off() -> None:
    assert hits(NODE_PUBLIC_IP, agent_pool(enableNodePublicIP=None)) == []


# ---------------------------------------------------------------------------------------
# aks-private-api-server

API_SERVER = "aks-private-api-server"


def api_server(**access: Any) -> dict[str, Any]:
    """A cluster whose apiServerAccessProfile is `access`."""
    return managed_cluster(apiServerAccessProfile=access)


def test_a_private_api_server_passes_in_every_tier() -> None:
    assert levels_by_tier(API_SERVER, api_server(enablePrivateCluster=True)) == {
        "dev": [],
        "staging": [],
        "prod": [],
    }


def test_a_public_api_server_limited_to_listed_networks_passes_outside_prod() -> None:
    cluster = api_server(enablePrivateCluster=False, authorizedIPRanges=["203.0.113.0/24"])
    assert levels_by_tier(API_SERVER, cluster) == {"dev": [], "staging": [], "prod": ["mandatory"]}
    assert messages(hits(API_SERVER, cluster, tier="prod"))[0].startswith(
        "apiServerAccessProfile.enablePrivateCluster is false"
    )


@pytest.mark.parametrize(
    ("ranges", "allowed"),
    [(None, "any address (none listed)"), (["10.0.0.0/8", "0.0.0.0/0"], "0.0.0.0/0")],
)
def test_a_public_api_server_open_to_anyone_is_refused(
    ranges: list[str] | None, allowed: str
) -> None:
    access = {"enablePrivateCluster": False, "authorizedIPRanges": ranges}
    cluster = api_server(**{k: v for k, v in access.items() if v is not None})
    assert levels_by_tier(API_SERVER, cluster) == {
        "dev": ["advisory"],
        "staging": ["advisory"],
        "prod": ["mandatory"],
    }
    assert messages(hits(API_SERVER, cluster, tier="dev")) == [
        f"apiServerAccessProfile.authorizedIPRanges allows {allowed} on the public API server; "
        "list your networks in plinth:cluster.authorized_ip_ranges, or set "
        "plinth:cluster.private_cluster: true"
    ]


def test_a_cluster_without_an_access_profile_is_public() -> None:
    found = hits(API_SERVER, managed_cluster(apiServerAccessProfile=None), tier="prod")
    assert messages(found)[0].startswith("apiServerAccessProfile.enablePrivateCluster is unset")
