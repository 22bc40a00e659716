"""ServiceMonitors a component creates for its own metrics once monitoring is deployed.

Prometheus selects every ServiceMonitor in every namespace (the monitoring component's
chart values), so a monitor needs no `release` label; it waits for the prometheus-operator
CRDs (`MonitoringStack.crds`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster
from components.monitoring import MonitoringStack

MONITORING_API = "monitoring.coreos.com/v1"


def service_monitor(
    name: str,
    monitor_name: str,
    *,
    cluster: Cluster,
    monitoring: MonitoringStack,
    namespace: str,
    service_labels: Mapping[str, str],
    port: str,
    parent: pulumi.Resource,
    path: str = "/metrics",
) -> k8s.apiextensions.CustomResource:
    """ServiceMonitor `monitor_name` (resource `<name>-service-monitor`) scraping `port` of
    the Services labelled `service_labels` in `namespace`."""
    return k8s.apiextensions.CustomResource(
        f"{name}-service-monitor",
        api_version=MONITORING_API,
        kind="ServiceMonitor",
        metadata=cluster.metadata(monitor_name, namespace),
        spec={
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": {"matchLabels": dict(sorted(service_labels.items()))},
            "endpoints": [{"port": port, "path": path}],
        },
        opts=pulumi.ResourceOptions.merge(
            cluster.resource_options(parent), pulumi.ResourceOptions(depends_on=monitoring.crds)
        ),
    )
