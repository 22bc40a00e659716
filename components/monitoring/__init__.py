"""The monitoring component (`plinth:monitoring`): Prometheus, Alertmanager and Grafana.

Components that expose metrics list it in `uses` and, when `deployed_monitoring` finds it,
create their ServiceMonitors or PodMonitors once its CRDs exist (`MonitoringStack.crds`).
Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule in every namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from components.args import WorkloadExemption
from components.contract import Component, Deployed, Placement
from components.monitoring.args import MonitoringArgs
from components.monitoring.names import NODE_EXPORTER

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from components.exposed import ExposedService


@runtime_checkable
class MonitoringStack(Protocol):
    """What the deployed monitoring component offers the others."""

    @property
    def crds(self) -> list[pulumi.Resource]:
        """The prometheus-operator CRDs: a ServiceMonitor waits for them."""

    @property
    def grafana(self) -> ExposedService:
        """Grafana's Service (what the gateway routes to, what a port-forward names)."""

    @property
    def prometheus(self) -> ExposedService:
        """Prometheus' Service."""


def _deploy(
    args: MonitoringArgs, cluster: Cluster, deployed: Deployed, where: Placement
) -> pulumi.ComponentResource:
    from components.monitoring.component import Monitoring  # noqa: PLC0415 (SDK on deploy)

    del deployed
    return Monitoring(where.name, args, cluster=cluster, opts=where.options())


# What node exporter reads on the host, mounted read-only (prometheus-node-exporter 4.56.1's
# DaemonSet): /proc and /sys for the kernel's counters, / for file system usage.
NODE_EXPORTER_HOST_PATHS = ("/proc", "/sys", "/")


def policy_exemptions(args: MonitoringArgs) -> tuple[WorkloadExemption, ...]:
    """Node exporter, and only it, may use the host: its metrics are the node's own."""
    reason = (
        "node exporter reports the node's own CPU, memory, disk and network: it reads the "
        "host's /proc, /sys and root file system (read-only) and shares the host's network "
        "and process namespaces so that the counters are the node's, not a pod's"
    )
    return (
        WorkloadExemption("pss-no-host-namespaces", args.namespace, NODE_EXPORTER, reason),
        WorkloadExemption(
            "pss-host-path-volumes", args.namespace, NODE_EXPORTER, reason, NODE_EXPORTER_HOST_PATHS
        ),
    )


COMPONENT = Component(
    key="monitoring",
    args=MonitoringArgs,
    name="monitoring",
    summary="Prometheus, Alertmanager and Grafana (kube-prometheus-stack) with Plinth's "
    "dashboards and alert rules.",
    deploy=_deploy,
    namespaces=lambda args: {"namespace": args.namespace},
    exemptions=policy_exemptions,
)


def deployed_monitoring(deployed: Deployed) -> MonitoringStack | None:
    """The deployed monitoring component, or None when the environment has none."""
    monitoring = deployed.get(COMPONENT)
    return monitoring if isinstance(monitoring, MonitoringStack) else None
