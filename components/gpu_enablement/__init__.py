"""The NVIDIA GPU enablement component (`plinth:gpu`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.contract import ClusterFacts, Component, Deployed, Placement
from components.gpu_enablement.args import GpuEnablementArgs, policy_exemptions
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster


def _deploy(
    args: GpuEnablementArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    from components.gpu_enablement.component import GpuEnablement  # noqa: PLC0415 (SDK on deploy)

    return GpuEnablement(
        where.name,
        args,
        cluster=cluster,
        monitoring=deployed_monitoring(deployed),
        opts=where.options(),
    )


def has_gpu_nodes(facts: ClusterFacts) -> bool:
    """GPU nodes take no GPU pods until the device plugin advertises their GPUs; a cluster
    without GPU node pools has nothing to enable."""
    return facts.gpu_nodes


COMPONENT = Component(
    key="gpu",
    args=GpuEnablementArgs,
    name="gpu",
    summary=(
        "NVIDIA GPU enablement (device plugin and DCGM exporter, or the GPU operator) on "
        "the GPU nodes. Deployed only when node_pools has a pool with accelerator: nvidia; "
        "an environment without one gets no GPU enablement, whatever is set here."
    ),
    deploy=_deploy,
    applies=has_gpu_nodes,
    # With monitoring deployed, the DCGM exporter's ServiceMonitor is on.
    uses=(MONITORING,),
    namespaces=lambda args: {"namespace": args.namespace},
    exemptions=policy_exemptions,
)
