"""The `aks` target: Plinth creates the cluster on Azure, with everything around it.

An azure-native provider for the environment's subscription and location, the resource
group every Azure resource goes in (`plinth-<env>`), the virtual network (`network.py`),
the AKS cluster with its System pool inline (`control_plane.py`) and one agent pool per
other `plinth:node_pools` entry (`node_pool.py`). AKS runs the cluster autoscaler itself.
Everything is built from pulumi-azure-native resources directly, so the plan and the
policy pack see every one of them. The cluster it returns brings Azure (`Cluster.azure`)
to components that use it, such as Blob storage.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from clouds.azure.context import AzureContext
from components.cluster import Cluster
from stacks.config import PlatformConfig
from stacks.migrations import component_options
from targets.aks.args import AksClusterArgs
from targets.node_pools import AKS_SYSTEM_POOL
from targets.registry import ownership_tags

INSTALL_HINT = (
    "the aks target needs pulumi-azure-native: install Plinth's azure extra "
    "(make install-azure, or pip install -e '.[azure]')"
)


def resource_group_name(environment: str) -> str:
    """The environment's resource group, and the name of its network and cluster."""
    return f"plinth-{environment}"


def build(
    environment: str, config: PlatformConfig, labels: Mapping[str, str], protect_stateful: bool
) -> Cluster:
    """The whole Azure side of an environment's cluster, and the cluster handle for the rest."""
    settings = config.cluster
    if not isinstance(settings, AksClusterArgs):  # pragma: no cover (targets/registry.py)
        raise TypeError("the aks target needs plinth:cluster.target: aks")
    try:
        from pulumi_azure_native import resources  # noqa: PLC0415
        from pulumi_azure_native.provider import Provider  # noqa: PLC0415 (only the aks target)
    except ImportError:  # pragma: no cover (the azure extra is a test dependency)
        raise SystemExit(f"plinth: {INSTALL_HINT}") from None
    from targets.aks.control_plane import AksCluster  # noqa: PLC0415 (SDK on build)
    from targets.aks.network import Network  # noqa: PLC0415
    from targets.aks.node_pool import AksNodePool, agent_pool_settings  # noqa: PLC0415

    tags = ownership_tags(environment, config)
    name = resource_group_name(environment)
    provider = Provider(
        f"{environment}-azure", subscription_id=settings.subscription_id, location=settings.location
    )
    group = resources.ResourceGroup(
        f"{environment}-resource-group",
        resource_group_name=name,
        location=settings.location,
        tags=tags,
        opts=pulumi.ResourceOptions(provider=provider),
    )
    context = AzureContext(provider, settings.location, group.name, protect_stateful, tags)
    network = Network(
        f"{environment}-network",
        settings,
        azure_context=context,
        network_name=name,
        opts=component_options(f"{environment}-network"),
    )

    def pool_settings(pool_name: str) -> dict[str, object]:
        return agent_pool_settings(
            pool_name,
            config.node_pools[pool_name],
            kubernetes_version=settings.kubernetes_version,
            zones=settings.availability_zones,
            subnet_id=network.node_subnet.id,
            tags=tags,
            operator_installs_driver=config.gpu_operator_installs_driver,
        )

    aks = AksCluster(
        f"{environment}-aks",
        settings,
        azure_context=context,
        cluster_name=name,
        network=network,
        system_pool={"name": AKS_SYSTEM_POOL, **pool_settings(AKS_SYSTEM_POOL)},
        labels=labels,
        gpu_nodes=bool(config.gpu_pools),
        spot_gpu_nodes=any(pool.capacity == "spot" for pool in config.gpu_pools.values()),
        opts=component_options(f"{environment}-aks"),
    )
    for pool_name in sorted(config.node_pools):
        if pool_name == AKS_SYSTEM_POOL:
            continue
        AksNodePool(
            f"{environment}-nodes-{pool_name}",
            pool_name,
            pool_settings(pool_name),
            cluster=aks.cluster,
            azure_context=context,
            opts=component_options(f"{environment}-nodes-{pool_name}"),
        )
    return aks.kubernetes
