"""MLflow's database outside EKS: a CloudNativePG `Cluster` in MLflow's namespace.

The operator (components/postgres_operator/) runs `instances` PostgreSQL pods, one the
primary and the others streaming replicas it fails over to, each on its own volume of
`storage_size_gib`. Plinth asks for:

- `bootstrap.initdb`: the database `name` owned by the user `username`, whose password the
  operator generates into the Secret `<cluster_name>-app` (keys `username`, `password`,
  ...): that is the Secret MLflow's chart reads, so Plinth never sees a password;
- no superuser access over the network (`enableSuperuserAccess: false`);
- the PostgreSQL image pinned in components/versions.py, requests and limits, the platform
  labels on every pod and volume claim (`inheritedMetadata`);
- with monitoring deployed, a PodMonitor for the instances' metrics port (the Cluster's own
  `monitoring.enablePodMonitor` is deprecated in 1.30: "create a PodMonitor manually");
- with `backup` set, base backups and the WAL archive to an S3-compatible object store
  through the operator's in-tree Barman Cloud support (`spec.backup.barmanObjectStore`),
  and a daily `ScheduledBackup`. The in-tree support is deprecated since CloudNativePG 1.26
  in favour of the Barman Cloud plugin, and removed in 1.31; the plugin is a second
  operator with its own `ObjectStore` CRD and needs cert-manager, and its CRDs are not in
  the pinned upstream data, so Plinth uses what the pinned 1.30 CRD and operator support
  and must move to the plugin before the operator pin reaches 1.31 (see README.md).

The Cluster holds MLflow's data: in prod it is protected and kept on delete, so that Pulumi
never deletes it, and the volume claims the operator owns through it, silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cluster import Cluster
from components.mlflow.database.args import CloudNativePgBackupArgs, MlflowDatabaseArgs
from components.postgres_operator.component import API_VERSION, PostgresOperator

POSTGRES_PORT = 5432
MONITORING_API = "monitoring.coreos.com/v1"
# The instance manager's metrics port, named `metrics` on every instance pod.
METRICS_PORT = "metrics"


def app_secret(cluster_name: str) -> str:
    """The Secret the operator creates with the application user's credentials."""
    return f"{cluster_name}-app"


def read_write_service(cluster_name: str) -> str:
    """The Service that always points at the primary."""
    return f"{cluster_name}-rw"


def deploy_cloudnative_pg(
    name: str,
    args: MlflowDatabaseArgs,
    cluster: Cluster,
    *,
    operator: PostgresOperator,
    namespace: str,
    parent: pulumi.ComponentResource,
    depends_on: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """The Cluster (and its PodMonitor and ScheduledBackup) named after `name`; returns
    what MLflow must wait for."""
    settings = args.cloudnative_pg
    after = [*operator.crds, operator.chart, *depends_on]
    database = k8s.apiextensions.CustomResource(
        f"{name}-db",
        api_version=API_VERSION,
        kind="Cluster",
        metadata=cluster.metadata(settings.cluster_name, namespace),
        spec=cluster_spec(args, cluster),
        opts=pulumi.ResourceOptions.merge(
            cluster.stateful_options(parent), pulumi.ResourceOptions(depends_on=after)
        ),
    )
    after_cluster = pulumi.ResourceOptions.merge(
        cluster.resource_options(parent), pulumi.ResourceOptions(depends_on=[database, *after])
    )
    if operator.monitored:
        k8s.apiextensions.CustomResource(
            f"{name}-db-metrics",
            api_version=MONITORING_API,
            kind="PodMonitor",
            metadata=cluster.metadata(settings.cluster_name, namespace),
            spec={
                "selector": {"matchLabels": {"cnpg.io/cluster": settings.cluster_name}},
                "podMetricsEndpoints": [{"port": METRICS_PORT}],
            },
            opts=pulumi.ResourceOptions.merge(
                after_cluster, pulumi.ResourceOptions(depends_on=operator.monitoring_crds)
            ),
        )
    if settings.backup is not None:
        k8s.apiextensions.CustomResource(
            f"{name}-db-backup",
            api_version=API_VERSION,
            kind="ScheduledBackup",
            metadata=cluster.metadata(settings.cluster_name, namespace),
            spec={
                "schedule": settings.backup.schedule,
                "cluster": {"name": settings.cluster_name},
                "method": "barmanObjectStore",
                # Backup objects are owned by the ScheduledBackup; the object store keeps
                # the backups themselves for `retention_days`.
                "backupOwnerReference": "self",
                "immediate": True,
            },
            opts=after_cluster,
        )
    return [database]


def cluster_spec(args: MlflowDatabaseArgs, cluster: Cluster) -> dict[str, Any]:
    """The `Cluster`'s spec for MLflow's database."""
    settings = args.cloudnative_pg
    storage: dict[str, Any] = {"size": f"{settings.storage_size_gib}Gi"}
    if settings.storage_class is not None:
        storage["storageClass"] = settings.storage_class
    spec: dict[str, Any] = {
        "instances": settings.instances,
        "imageName": versions.CLOUDNATIVE_PG_POSTGRES_IMAGE,
        "enableSuperuserAccess": False,
        "bootstrap": {"initdb": {"database": args.name, "owner": args.username}},
        "storage": storage,
        "resources": settings.resources.to_kubernetes(),
        "inheritedMetadata": {"labels": dict(sorted(cluster.labels.items()))},
    }
    if settings.backup is not None:
        spec["backup"] = {
            "barmanObjectStore": object_store(settings.backup),
            "retentionPolicy": f"{settings.backup.retention_days}d",
        }
    return spec


def object_store(backup: CloudNativePgBackupArgs) -> dict[str, Any]:
    """`barmanObjectStore`: where base backups and WAL go, with the team's key pair."""
    store: dict[str, Any] = {
        "destinationPath": backup.destination_path,
        "s3Credentials": {
            "accessKeyId": {"name": backup.credentials_secret, "key": "ACCESS_KEY_ID"},
            "secretAccessKey": {"name": backup.credentials_secret, "key": "ACCESS_SECRET_KEY"},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if backup.endpoint_url is not None:
        store["endpointURL"] = backup.endpoint_url
    return store
