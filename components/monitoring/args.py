"""Settings of the monitoring component (`plinth:monitoring`): pydantic only."""

from __future__ import annotations

from pydantic import Field

from components.args import DNS_LABEL, ChartArgs, OwnNamespace


class MonitoringArgs(ChartArgs):
    """Settings of Prometheus, Alertmanager and Grafana (kube-prometheus-stack)."""

    namespace: OwnNamespace = Field(
        "monitoring", pattern=DNS_LABEL, description="Namespace of Prometheus and Grafana."
    )
