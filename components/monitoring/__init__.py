"""The monitoring component (`plinth:monitoring`): Prometheus, Alertmanager and Grafana.

Components that expose metrics list it in `uses` and, when `deployed_monitoring` finds it,
create their ServiceMonitors or PodMonitors once its CRDs exist (`MonitoringStack.crds`).
Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule in every namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from components.contract import Component, Deployed, Placement
from components.monitoring.args import MonitoringArgs

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


COMPONENT = Component(
    key="monitoring",
    args=MonitoringArgs,
    name="monitoring",
    summary="Prometheus, Alertmanager and Grafana (kube-prometheus-stack) with Plinth's "
    "dashboards and alert rules.",
    deploy=_deploy,
    namespaces=lambda args: {"namespace": args.namespace},
)


def deployed_monitoring(deployed: Deployed) -> MonitoringStack | None:
    """The deployed monitoring component, or None when the environment has none."""
    monitoring = deployed.get(COMPONENT)
    return monitoring if isinstance(monitoring, MonitoringStack) else None
