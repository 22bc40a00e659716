"""CloudNativePG: the operator that runs PostgreSQL clusters inside Kubernetes.

Installs the operator release's eleven CRDs as their own stage, then the `cloudnative-pg`
chart with its CRD templates off (`crds.create: false`), the operator image pinned to the
release, and resources; replicas above one elect a leader (the chart always passes
`--leader-elect`). The chart's pods are already restricted (non-root, no privilege
escalation, every capability dropped, read-only root filesystem, `RuntimeDefault` seccomp),
so Plinth leaves its security contexts as they are. When monitoring is deployed, the
chart's PodMonitor scrapes the operator.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import versions
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster
from components.monitoring import MonitoringStack
from components.postgres_operator.args import PostgresOperatorArgs

CRD_FILES = tuple(
    f"postgresql.cnpg.io_{kind}.yaml"
    for kind in (
        "backups",
        "clusterimagecatalogs",
        "clusters",
        "databaseroles",
        "databases",
        "failoverquorums",
        "imagecatalogs",
        "poolers",
        "publications",
        "scheduledbackups",
        "subscriptions",
    )
)
API_VERSION = "postgresql.cnpg.io/v1"


class PostgresOperator(ChartComponent):
    """The CloudNativePG operator and its CRDs (`crds`: what a `Cluster` must wait for)."""

    def __init__(
        self,
        name: str,
        args: PostgresOperatorArgs,
        *,
        cluster: Cluster,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "plinth:data:PostgresOperator",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            crds=CrdRelease(versions.CLOUDNATIVE_PG_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        [self.chart] = self.install_charts(
            [
                ChartRelease(
                    name,
                    "cloudnative-pg",
                    versions.CLOUDNATIVE_PG_CHART,
                    versions.CLOUDNATIVE_PG_CHART_REPO,
                    chart_values(args, cluster, scraped=monitoring is not None),
                )
            ],
            depends_on=monitoring.crds if monitoring is not None else (),
        )
        self.monitored = monitoring is not None
        """Whether monitoring is deployed: the clusters it runs get a PodMonitor too."""
        self.register_outputs({"namespace": args.namespace})


def chart_values(args: PostgresOperatorArgs, cluster: Cluster, *, scraped: bool) -> dict[str, Any]:
    """The chart values Plinth renders from the typed options, with `values_override` on top;
    `scraped` when the environment deploys monitoring (the chart's PodMonitor)."""
    rendered: dict[str, Any] = {
        # Object names that do not depend on the release name.
        "fullnameOverride": "cnpg",
        "replicaCount": args.replicas,
        "image": {"tag": versions.CLOUDNATIVE_PG_IMAGE_TAG},
        # The CRDs are Plinth's own stage (CRD_FILES), upgraded with the pin.
        "crds": {"create": False},
        "resources": args.resources.to_kubernetes(),
        "podLabels": dict(sorted(cluster.labels.items())),
        "monitoring": {"podMonitorEnabled": scraped},
    }
    return release_values(rendered, args.values_override, args)
