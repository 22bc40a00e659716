"""The AKS agent pool of one entry of `plinth:node_pools`.

Everything about the nodes follows from the pool's settings: one VM size, Ubuntu, spread
over the environment's zones in the node subnet, scaled by AKS's cluster autoscaler
between min_size and max_size (from zero for user pools), spot or regular priority, the OS
disk, encryption at host (temp disk and caches included) and no public IP. A GPU pool
carries the `nvidia.com/gpu=true:NoSchedule` taint and the `plinth.io/accelerator=nvidia`
label, so only pods that ask for GPUs land there, and `gpuProfile.driver` says whether
AKS installs the NVIDIA driver (`None` when the GPU operator brings its own). Spot pools
carry the taint AKS puts on every spot node, stated here so that Pulumi's inputs match
what Azure reports.

The `system` pool is the cluster's inline System pool (`control_plane.py`); every other
pool is its own `AgentPool` resource (`AksNodePool`), so that adding, changing or removing
one touches only that pool (pulumi-azure-native #2719, #4264).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_azure_native import containerservice

from clouds.azure.context import AzureContext
from components.cluster import GPU_NODE_LABELS, GPU_TAINT, Taint
from targets.node_pools import AKS_SYSTEM_POOL, NodePool

POOL_LABEL = "plinth.io/node-pool"
# What AKS refuses to change on an existing pool (the AKS "Manage node pools" docs and
# `az aks nodepool update`, which offers none of them), beyond the provider's own force-new
# VM size: Pulumi replaces the pool instead of sending an update Azure rejects.
IMMUTABLE_POOL_SETTINGS = (
    "availabilityZones",
    "enableNodePublicIP",
    "gpuProfile",
    "kubeletDiskType",
    "osDiskSizeGB",
    "osDiskType",
    "osType",
    "scaleSetEvictionPolicy",
    "scaleSetPriority",
    "spotMaxPrice",
    "vnetSubnetID",
)
# AKS taints every node of a spot pool with this; pods that may run there tolerate it.
SPOT_TAINT = Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")


def node_labels(pool_name: str, pool: NodePool) -> dict[str, str]:
    """Labels on every node of the pool: its name, GPU labels for GPU pools, then its own."""
    gpu = dict(GPU_NODE_LABELS) if pool.accelerator == "nvidia" else {}
    return dict(sorted({POOL_LABEL: pool_name, **gpu, **pool.labels}.items()))


def node_taints(pool: NodePool) -> list[str]:
    """The pool's taints as AKS writes them (`key=value:Effect`), sorted."""
    taints = [GPU_TAINT] if pool.accelerator == "nvidia" else []
    if pool.capacity == "spot":
        taints.append(SPOT_TAINT)
    return sorted(f"{t.key}={t.value}:{t.effect}" for t in taints)


def gpu_driver(pool: NodePool, *, operator_installs_driver: bool) -> str | None:
    """`gpuProfile.driver` of a GPU pool: the pool's own choice, else `None` when the GPU
    operator installs its driver and `Install` otherwise; None for a pool without GPUs."""
    if pool.accelerator != "nvidia":
        return None
    if pool.gpu_driver is not None:
        return pool.gpu_driver
    return "None" if operator_installs_driver else "Install"


def agent_pool_settings(
    pool_name: str,
    pool: NodePool,
    *,
    kubernetes_version: str,
    zones: Sequence[str],
    subnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
    operator_installs_driver: bool,
) -> dict[str, Any]:
    """The agent pool's settings, as keyword arguments of `AgentPool` and keys of the
    cluster's inline `ManagedClusterAgentPoolProfileArgs` alike."""
    settings: dict[str, Any] = {
        "mode": "System" if pool_name == AKS_SYSTEM_POOL else "User",
        "type": "VirtualMachineScaleSets",
        "vm_size": pool.vm_size,
        "os_type": "Linux",
        "os_sku": "Ubuntu",
        "orchestrator_version": kubernetes_version,
        "availability_zones": list(zones),
        "vnet_subnet_id": subnet_id,
        "enable_auto_scaling": True,
        "min_count": pool.min_size,
        "max_count": pool.max_size,
        "count": pool.min_size if pool.desired_size is None else pool.desired_size,
        "os_disk_type": pool.os_disk_type,
        "os_disk_size_gb": pool.disk_size_gib,
        "kubelet_disk_type": "Temporary" if pool.local_nvme_scratch else "OS",
        "enable_encryption_at_host": True,
        "enable_node_public_ip": False,
        "node_labels": node_labels(pool_name, pool),
        "node_taints": node_taints(pool),
        "tags": dict(sorted(tags.items())),
    }
    if pool.capacity == "spot":
        settings["scale_set_priority"] = "Spot"
        settings["scale_set_eviction_policy"] = pool.spot_eviction_policy
        settings["spot_max_price"] = pool.spot_max_price
    driver = gpu_driver(pool, operator_installs_driver=operator_installs_driver)
    if driver is not None:
        settings["gpu_profile"] = {"driver": driver}
    return settings


class AksNodePool(pulumi.ComponentResource):
    """One user agent pool of an AKS cluster, its own resource."""

    CONFIG_KEY = "node_pools.<name>"  # configured by its plinth:node_pools entry

    def __init__(
        self,
        name: str,
        pool_name: str,
        settings: Mapping[str, Any],
        *,
        cluster: containerservice.ManagedCluster,
        azure_context: AzureContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:azure:AksNodePool", name, None, opts)
        self.agent_pool = containerservice.AgentPool(
            name,
            resource_group_name=azure_context.resource_group_name,
            resource_name_=cluster.name,
            agent_pool_name=pool_name,
            **settings,
            opts=azure_context.options(
                self,
                # The autoscaler moves the node count; Pulumi must not move it back.
                ignore_changes=["count"],
                # A pool's name is its identity in the cluster: a change AKS can only make
                # by replacing the pool (VM size, OS disk, priority, zones) deletes the old
                # pool first; its pods reschedule once the new pool has nodes.
                delete_before_replace=True,
                replace_on_changes=list(IMMUTABLE_POOL_SETTINGS),
            ),
        )
        self.register_outputs({"agent_pool": self.agent_pool.name})
