"""The aks target: resource group, network, cluster and agent pools of aks-dev and aks-prod,
and the refusals of unbuildable AKS settings.

Expectations come from each environment's own configuration (pools, tier, GPU enablement),
so the tests follow the environment files instead of copying the plan.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from clouds.azure.vm_sizes import nvidia_gpus
from components.cluster import GPU_NODE_LABELS, GPU_TAINT
from plinth.diff import diff_plans
from plinth.environments import load_environment
from plinth.placeholders import azure_outputs, user_credentials
from plinth.synth import synthesize
from stacks.config import ConfigError, PlatformConfig, load_platform_config
from targets.aks.args import AksClusterArgs
from targets.aks.node_pool import SPOT_TAINT, agent_pool_settings
from targets.node_pools import AKS_SYSTEM_POOL, NodePool
from tests.conftest import ROOT, SynthesizedEnvironment

AKS_ENVIRONMENTS = ("aks-dev", "aks-prod")
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


@pytest.fixture(scope="module")
def aks_synthesized(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, SynthesizedEnvironment]]:
    """The two AKS environments only, synthesized once for this module."""
    previous = os.environ.get("PLINTH_PROJECT_DIR")
    os.environ["PLINTH_PROJECT_DIR"] = str(ROOT)
    results = {}
    for name in AKS_ENVIRONMENTS:
        out_dir, entries = synthesize(name, tmp_path_factory.mktemp(f"synth-{name}"))
        results[name] = SynthesizedEnvironment(load_environment(ROOT, name), out_dir, entries)
    yield results
    if previous is None:
        os.environ.pop("PLINTH_PROJECT_DIR", None)


@pytest.fixture(params=AKS_ENVIRONMENTS)
def aks_env(
    request: pytest.FixtureRequest, aks_synthesized: dict[str, SynthesizedEnvironment]
) -> SynthesizedEnvironment:
    """Each AKS environment in turn."""
    return aks_synthesized[request.param]


def platform(env: SynthesizedEnvironment) -> PlatformConfig:
    return env.environment.platform


def settings(env: SynthesizedEnvironment) -> AksClusterArgs:
    cluster = platform(env).cluster
    assert isinstance(cluster, AksClusterArgs)
    return cluster


def cluster_entry(env: SynthesizedEnvironment) -> dict[str, Any]:
    (cluster,) = env.of_type(MANAGED_CLUSTER)
    return cluster


def pools_by_name(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    """Every agent pool's inputs by pool name: the inline System pool and the resources."""
    inline = {p["name"]: p for p in cluster_entry(env)["inputs"]["agentPoolProfiles"]}
    separate = {e["inputs"]["agentPoolName"]: e["inputs"] for e in env.of_type(AGENT_POOL)}
    assert not set(inline) & set(separate)
    return {**inline, **separate}


# --- the cluster and its pools --------------------------------------------------------------


def test_only_the_system_pool_is_inline_and_the_cluster_ignores_it(
    aks_env: SynthesizedEnvironment,
) -> None:
    cluster = cluster_entry(aks_env)
    inline = cluster["inputs"]["agentPoolProfiles"]
    assert [(p["name"], p["mode"]) for p in inline] == [(AKS_SYSTEM_POOL, "System")]
    assert cluster["ignore_changes"] == ["agentPoolProfiles"]
    others = sorted(name for name in platform(aks_env).node_pools if name != AKS_SYSTEM_POOL)
    pools = aks_env.of_type(AGENT_POOL)
    assert sorted(p["inputs"]["agentPoolName"] for p in pools) == others
    for pool in pools:
        assert pool["inputs"]["mode"] == "User"
        assert pool["inputs"]["resourceName"] == cluster["inputs"]["resourceName"]
        # The autoscaler owns the count; a pool's name cannot be taken twice at once.
        assert pool["ignore_changes"] == ["count"]
        assert pool["delete_before_replace"] is True


def test_every_pool_follows_its_settings(aks_env: SynthesizedEnvironment) -> None:
    zones = list(settings(aks_env).availability_zones)
    for name, inputs in pools_by_name(aks_env).items():
        pool = platform(aks_env).node_pools[name]
        assert inputs["vmSize"] == pool.vm_size
        assert (inputs["minCount"], inputs["maxCount"]) == (pool.min_size, pool.max_size)
        assert inputs["enableAutoScaling"] is True
        assert inputs["availabilityZones"] == zones
        assert (inputs["osDiskType"], inputs["osDiskSizeGB"]) == (
            pool.os_disk_type,
            pool.disk_size_gib,
        )
        assert inputs["kubeletDiskType"] == ("Temporary" if pool.local_nvme_scratch else "OS")
        assert inputs["enableEncryptionAtHost"] is True
        assert inputs["enableNodePublicIP"] is False
        assert inputs["orchestratorVersion"] == settings(aks_env).kubernetes_version
        assert inputs["vnetSubnetID"].endswith("/subnets/nodes")


def test_gpu_pools_are_tainted_labelled_and_get_the_driver(
    aks_env: SynthesizedEnvironment,
) -> None:
    config = platform(aks_env)
    gpu_taint = f"{GPU_TAINT.key}={GPU_TAINT.value}:{GPU_TAINT.effect}"
    expected_driver = "None" if config.gpu_operator_installs_driver else "Install"
    pools = pools_by_name(aks_env)
    assert config.gpu_pools, "both AKS environments have GPU pools"
    for name, inputs in pools.items():
        if name in config.gpu_pools:
            assert gpu_taint in inputs["nodeTaints"]
            assert GPU_NODE_LABELS.items() <= inputs["nodeLabels"].items()
            assert inputs["gpuProfile"] == {"driver": expected_driver}
            assert nvidia_gpus(inputs["vmSize"])
        else:
            assert gpu_taint not in inputs["nodeTaints"]
            assert "plinth.io/accelerator" not in inputs["nodeLabels"]
            assert "gpuProfile" not in inputs


def test_spot_pools_carry_the_spot_settings_and_taint(aks_env: SynthesizedEnvironment) -> None:
    spot_taint = f"{SPOT_TAINT.key}={SPOT_TAINT.value}:{SPOT_TAINT.effect}"
    for name, inputs in pools_by_name(aks_env).items():
        pool = platform(aks_env).node_pools[name]
        if pool.capacity == "spot":
            assert inputs["scaleSetPriority"] == "Spot"
            assert inputs["scaleSetEvictionPolicy"] == pool.spot_eviction_policy
            assert inputs["spotMaxPrice"] == pool.spot_max_price
            assert spot_taint in inputs["nodeTaints"]
        else:
            assert "scaleSetPriority" not in inputs
            assert spot_taint not in inputs["nodeTaints"]


def test_gpu_agents_and_jobs_tolerate_spot_gpu_nodes(
    aks_synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    env = aks_synthesized["aks-dev"]
    assert any(p.capacity == "spot" for p in platform(env).gpu_pools.values())
    spot = SPOT_TAINT.toleration()
    (plugin,) = [
        o
        for o in env.objects
        if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "nvidia-device-plugin"
    ]
    assert spot in plugin["spec"]["template"]["spec"]["tolerations"]
    (job,) = [o for o in env.objects if o["kind"] == "PyTorchJob"]
    for replica in job["spec"]["pytorchReplicaSpecs"].values():
        assert spot in replica["template"]["spec"]["tolerations"]


def test_the_cluster_is_hardened(aks_env: SynthesizedEnvironment) -> None:
    inputs = cluster_entry(aks_env)["inputs"]
    overlay_cilium = {
        "networkPlugin": "azure",
        "networkPluginMode": "overlay",
        "networkDataplane": "cilium",
        "networkPolicy": "cilium",
    }
    assert overlay_cilium.items() <= inputs["networkProfile"].items()
    assert inputs["enableRBAC"] is True
    assert inputs["disableLocalAccounts"] is True
    assert inputs["aadProfile"]["managed"] is True
    assert inputs["aadProfile"]["enableAzureRBAC"] is True
    assert inputs["oidcIssuerProfile"] == {"enabled": True}
    assert inputs["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert inputs["storageProfile"]["blobCSIDriver"] == {"enabled": True}
    assert inputs["kubernetesVersion"] == settings(aks_env).kubernetes_version
    assert inputs["autoUpgradeProfile"]["upgradeChannel"] == settings(aks_env).upgrade_channel


def test_prod_has_a_private_api_server_and_dev_an_authorised_range(
    aks_synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    prod = cluster_entry(aks_synthesized["aks-prod"])
    access = prod["inputs"]["apiServerAccessProfile"]
    assert access["enablePrivateCluster"] is True
    assert "authorizedIPRanges" not in access
    assert access["enableVnetIntegration"] is True
    assert access["subnetId"].endswith("/subnets/api-server")
    dev = cluster_entry(aks_synthesized["aks-dev"])["inputs"]["apiServerAccessProfile"]
    assert dev["enablePrivateCluster"] is False
    assert dev["authorizedIPRanges"] == list(
        settings(aks_synthesized["aks-dev"]).authorized_ip_ranges
    )


def test_prod_protects_the_cluster(aks_env: SynthesizedEnvironment) -> None:
    cluster = cluster_entry(aks_env)
    protected = platform(aks_env).tier == "prod"
    assert (cluster["protect"], cluster["retain_on_delete"]) == (protected, protected)


def test_the_control_plane_may_join_the_subnets_before_the_cluster_exists(
    aks_env: SynthesizedEnvironment,
) -> None:
    cluster = cluster_entry(aks_env)
    grants = [
        grant
        for grant in aks_env.of_type("azure-native:authorization:RoleAssignment")
        if "/subnets/" in grant["inputs"]["scope"]
    ]
    subnets = aks_env.of_type("azure-native:network:Subnet")
    assert sorted(g["inputs"]["scope"].rsplit("/", 1)[-1] for g in grants) == sorted(
        s["inputs"]["subnetName"] for s in subnets
    )
    assert {g["urn"] for g in grants} <= set(cluster["dependencies"])
    identity = cluster["inputs"]["identity"]
    assert identity["type"] == "UserAssigned"
    assert all(g["inputs"]["principalId"] for g in grants)
    (assigned,) = identity["userAssignedIdentities"]
    identities = aks_env.of_type("azure-native:managedidentity:UserAssignedIdentity")
    (control_plane,) = [i for i in identities if i["parent"] == cluster["parent"]]
    assert assigned.endswith(f"/userAssignedIdentities/{control_plane['inputs']['resourceName']}")


def test_the_kubernetes_provider_signs_in_through_kubelogin(
    aks_env: SynthesizedEnvironment,
) -> None:
    (provider,) = [
        e
        for e in aks_env.of_type(KUBERNETES_PROVIDER)
        if e["name"] == f"{aks_env.environment.name}-aks"
    ]
    kubeconfig = json.loads(provider["inputs"]["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert "--server-id" in user["user"]["exec"]["args"]
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")


def test_every_taggable_azure_resource_carries_the_ownership_tags(
    aks_env: SynthesizedEnvironment,
) -> None:
    from policies.taggable_types import TAGGABLE_TYPES  # noqa: PLC0415

    expected = {
        "owner": platform(aks_env).ownership.owner,
        "environment": aks_env.environment.name,
        "managed-by": "plinth",
    }
    taggable = [
        e
        for e in aks_env.entries
        if e["custom"] and e["type"].startswith("azure-native:") and e["type"] in TAGGABLE_TYPES
    ]
    assert taggable
    for entry in taggable:
        assert expected.items() <= entry["inputs"]["tags"].items(), entry["name"]


# --- plinth diff: what replaces an agent pool or the cluster -----------------------------------


def changed(
    entries: list[dict[str, Any]], type_token: str, name: str, path: tuple[str, ...], value: Any
) -> Any:
    """A copy of `entries` with the input at `path` of resource `name` set to `value`."""
    after = copy.deepcopy(entries)
    (entry,) = [e for e in after if e["name"] == name and e["type"] == type_token]
    target = entry["inputs"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return after


@pytest.mark.parametrize(
    ("path", "value", "forced_by"),
    [
        (("vmSize",), "Standard_NC48ads_A100_v4", "vmSize"),
        (("osDiskType",), "Ephemeral", "osDiskType"),
        (("availabilityZones",), ["1"], "availabilityZones"),
    ],
)
def test_a_changed_vm_size_or_disk_replaces_the_agent_pool(
    aks_synthesized: dict[str, SynthesizedEnvironment],
    path: tuple[str, ...],
    value: Any,
    forced_by: str,
) -> None:
    before = aks_synthesized["aks-prod"].entries
    diff = diff_plans(before, changed(before, AGENT_POOL, "aks-prod-nodes-a100", path, value))
    (change,) = diff.changes
    assert (change.type, change.action, change.stateful) == (AGENT_POOL, "replace", False)
    assert change.delete_first
    assert any(forced_by in reason for reason in change.reasons)


def test_a_changed_network_plugin_replaces_the_stateful_cluster(
    aks_synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    before = aks_synthesized["aks-prod"].entries
    after = changed(
        before, MANAGED_CLUSTER, "aks-prod-aks", ("networkProfile", "networkPlugin"), "kubenet"
    )
    replaced = [c for c in diff_plans(before, after).changes if c.type == MANAGED_CLUSTER]
    (change,) = replaced
    assert (change.action, change.stateful, change.protected) == ("replace", True, True)
    assert change.delete_first
    assert any("networkProfile.networkPlugin" in reason for reason in change.reasons)


@pytest.mark.parametrize(
    ("path", "value"),
    [(("maxCount",), 8), (("nodeLabels", "team"), "research"), (("tags", "owner"), "ml-research")],
)
def test_a_changed_max_count_label_or_tag_updates_the_pool_in_place(
    aks_synthesized: dict[str, SynthesizedEnvironment], path: tuple[str, ...], value: Any
) -> None:
    before = aks_synthesized["aks-prod"].entries
    after = changed(before, AGENT_POOL, "aks-prod-nodes-a100", path, value)
    (change,) = diff_plans(before, after).changes
    assert change.action == "update"


# --- configuration: facts, derived settings and refusals --------------------------------------


def valid_values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tier": "dev",
        "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
        "cluster": {
            "target": "aks",
            "subscription_id": "00000000-0000-0000-0000-000000000000",
            "location": "westeurope",
            "admin_group_object_ids": ["22222222-2222-2222-2222-222222222222"],
        },
        "node_pools": {
            "system": {"vm_size": "Standard_D4ds_v5", "min_size": 2, "max_size": 3},
            "gpu": {"accelerator": "nvidia", "vm_size": "Standard_NC4as_T4_v3", "max_size": 2},
        },
    }
    values.update(changes)
    return values


def with_pool(name: str, **pool: Any) -> dict[str, Any]:
    values = valid_values()
    values["node_pools"] = {**values["node_pools"], name: pool}
    return values


def error_of(values: Mapping[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_platform_config(values, source="test")
    return str(caught.value)


def test_the_valid_values_load_with_azure_facts() -> None:
    config = load_platform_config(valid_values(), source="test")
    assert isinstance(config.cluster, AksClusterArgs)
    assert (config.facts.target, config.facts.cloud, config.facts.gpu_nodes) == (
        "aks",
        "azure",
        True,
    )
    assert config.node_pools["gpu"].node_gpus == 1
    assert config.default_storage_class == "managed-csi"


def test_tier_defaults_make_prod_private() -> None:
    prod = load_platform_config(valid_values(tier="prod"), source="test").cluster
    dev = load_platform_config(valid_values(), source="test").cluster
    assert isinstance(prod, AksClusterArgs)
    assert isinstance(dev, AksClusterArgs)
    assert (prod.private_cluster, prod.sku_tier) == (True, "Standard")
    assert (dev.private_cluster, dev.sku_tier) == (False, "Free")


def gpu_settings(pool: NodePool, *, operator_installs_driver: bool) -> dict[str, Any]:
    return agent_pool_settings(
        "gpu",
        pool,
        kubernetes_version="1.34",
        zones=("1",),
        subnet_id="subnet",
        tags={},
        operator_installs_driver=operator_installs_driver,
    )


def test_the_driver_is_left_to_the_gpu_operator_when_it_brings_one() -> None:
    config = load_platform_config(
        valid_values(gpu={"mode": "gpu-operator", "driver_preinstalled": False}), source="test"
    )
    assert config.gpu_operator_installs_driver
    pool = config.node_pools["gpu"]
    assert gpu_settings(pool, operator_installs_driver=True)["gpu_profile"] == {"driver": "None"}
    assert gpu_settings(pool, operator_installs_driver=False)["gpu_profile"] == {
        "driver": "Install"
    }
    system = agent_pool_settings(
        "system",
        config.node_pools["system"],
        kubernetes_version="1.34",
        zones=(),
        subnet_id="subnet",
        tags={},
        operator_installs_driver=True,
    )
    assert "gpu_profile" not in system


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            valid_values(
                node_pools={"gpu": {"accelerator": "nvidia", "vm_size": "Standard_NC4as_T4_v3"}}
            ),
            "node_pools has no 'system' pool",
        ),
        (with_pool("system", max_size=2), "node_pools.system.vm_size is missing"),
        (with_pool("cpu", vm_size="D4ds_v5"), "is not an Azure VM size"),
        (with_pool("gpu-pool", vm_size="Standard_D4ds_v5"), "AKS agent pool names"),
        (
            with_pool("system", vm_size="Standard_D4ds_v5", capacity="spot", min_size=1),
            "System pool cannot be spot",
        ),
        (with_pool("system", vm_size="Standard_D4ds_v5"), "the AKS System pool needs a node"),
        (with_pool("cpu", vm_size="Standard_NC4as_T4_v3"), "set accelerator to nvidia"),
        (
            with_pool("gpu", accelerator="nvidia", vm_size="Standard_D8ds_v5"),
            "has no GPU but accelerator is nvidia",
        ),
        (
            with_pool("gpu", accelerator="nvidia", vm_size="Standard_NC999_v9"),
            "not an NVIDIA GPU size Plinth knows",
        ),
        (
            with_pool("cpu", vm_size="Standard_D4ds_v5", spot_max_price=0.5),
            "but capacity is on-demand",
        ),
        (
            with_pool(
                "cpu", vm_size="Standard_D4ds_v5", os_disk_type="Ephemeral", disk_size_gib=200
            ),
            "does not fit the 150 GiB temp disk",
        ),
        (
            with_pool(
                "gpu",
                accelerator="nvidia",
                vm_size="Standard_D4s_v5",
                gpus_per_node=1,
                local_nvme_scratch=True,
            ),
            "has no local temp disk",
        ),
        (
            with_pool(
                "gpu", accelerator="nvidia", vm_size="Standard_NC4as_T4_v3", gpu_driver="None"
            ),
            "nothing else installs the NVIDIA driver",
        ),
        (with_pool("cpu", vm_size="Standard_D4ds_v5", instance_types=["m7i.large"]), "EKS setting"),
    ],
)
def test_unbuildable_aks_pools_are_refused(values: Mapping[str, Any], expected: str) -> None:
    message = error_of(values)
    assert expected in message
    assert "\n" not in message


def test_the_driver_cannot_be_installed_twice() -> None:
    values = with_pool(
        "gpu", accelerator="nvidia", vm_size="Standard_NC4as_T4_v3", gpu_driver="Install"
    )
    values["gpu"] = {"mode": "gpu-operator", "driver_preinstalled": False}
    assert "two drivers cannot share a node" in error_of(values)


@pytest.mark.parametrize("target", ["eks", "existing"])
def test_other_targets_refuse_aks_pool_settings(target: str) -> None:
    cluster: dict[str, Any] = (
        {
            "target": "eks",
            "region": "eu-west-1",
            "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        }
        if target == "eks"
        else {"target": "existing", "kubernetes_version": "1.34"}
    )
    pools: dict[str, Any] = {"cpu": {"vm_size": "Standard_D4ds_v5"}}
    if target == "eks":
        pools = {"system": {"instance_types": ["m7i.large"], "vm_size": "Standard_D4ds_v5"}}
    message = error_of(valid_values(cluster=cluster, node_pools=pools))
    assert "vm_size is set but cluster.target is " + target in message


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (
            {"private_cluster": True, "authorized_ip_ranges": ["203.0.113.0/24"]},
            "authorized_ip_ranges is set but private_cluster is true",
        ),
        ({"vnet_cidr": "10.0.0.0/16"}, "service_cidr 10.0.0.0/16 overlaps vnet_cidr"),
        ({"dns_service_ip": "10.1.0.10"}, "dns_service_ip 10.1.0.10 is outside service_cidr"),
        ({"subscription_id": "my-subscription"}, "a GUID such as"),
        ({"location": "West Europe"}, "an Azure region such as westeurope"),
        ({"kubernetes_version": "1.29"}, "plinth:cluster.kubernetes_version"),
        ({"availability_zones": ["1", "1"]}, "repeats a zone"),
        ({"admin_group_object_ids": ["platform-admins"]}, "is not an Entra object ID"),
        ({"admin_group_object_ids": []}, "admin_group_object_ids is empty"),
    ],
)
def test_bad_cluster_settings_are_refused(cluster: dict[str, Any], expected: str) -> None:
    values = valid_values()
    values["cluster"] = {**values["cluster"], **cluster}
    assert expected in error_of(values)


def test_the_environment_files_are_the_ones_tested() -> None:
    assert {p.name for p in (ROOT / "environments").glob("Pulumi.aks-*.yaml")} == {
        f"Pulumi.{name}.yaml" for name in AKS_ENVIRONMENTS
    }


# --- the mock engine answers like Azure --------------------------------------------------------


def test_placeholder_ids_are_arm_ids_of_the_resource_and_its_parent() -> None:
    subnet = azure_outputs(
        "azure-native:network:Subnet",
        "ignored",
        {"resourceGroupName": "rg", "virtualNetworkName": "vnet", "subnetName": "nodes"},
        "sub",
        "westeurope",
    )
    assert subnet["id"] == (
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
        "/subnets/nodes"
    )
    cluster = azure_outputs(
        MANAGED_CLUSTER,
        "ignored",
        {
            "resourceGroupName": "rg",
            "resourceName": "aks",
            "identity": {"userAssignedIdentities": ["/id"]},
        },
        "sub",
        "westeurope",
    )
    assert cluster["oidcIssuerProfile"]["issuerURL"].startswith("https://westeurope.oic.")
    # Azure answers user-assigned identities as a map keyed by resource ID.
    assert list(cluster["identity"]["userAssignedIdentities"]) == ["/id"]


def test_the_user_credentials_invoke_answers_a_kubeconfig_of_the_cluster() -> None:
    answer = user_credentials({"resourceName": "plinth-x"}, "westeurope")
    (listed,) = answer["kubeconfigs"]
    document = json.loads(base64.b64decode(listed["value"]))
    (cluster,) = document["clusters"]
    assert (
        cluster["cluster"]["server"] == "https://plinth-x-placeholder.hcp.westeurope.azmk8s.io:443"
    )
