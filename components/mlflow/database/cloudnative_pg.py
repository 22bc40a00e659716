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
- with `backup` set, base backups and the WAL archive through the operator's in-tree
  Barman Cloud support (`spec.backup.barmanObjectStore`), and a daily `ScheduledBackup`:
  off Azure to an S3-compatible object store with the team's key pair; on aks to a
  blob_storage container, as a managed identity federated to the Cluster's service account
  (which the operator names after the Cluster) and allowed that container only, with
  `azureCredentials.inheritFromAzureAD`, the identity's client ID on the service account
  (`serviceAccountTemplate`) and the workload identity label on the pods
  (`inheritedMetadata`). The in-tree support is deprecated since CloudNativePG 1.26
  in favour of the Barman Cloud plugin, and removed in 1.31; the plugin is a second
  operator with its own `ObjectStore` CRD and needs cert-manager, and its CRDs are not in
  the pinned upstream data, so Plinth uses what the pinned 1.30 CRD and operator support
  and must move to the plugin before the operator pin reaches 1.31 (see README.md).

The Cluster holds MLflow's data: in prod it is protected and kept on delete, so that Pulumi
never deletes it, and the volume claims the operator owns through it, silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.blob_storage.identity import CLIENT_ID_ANNOTATION, WORKLOAD_IDENTITY_LABEL
from components.cluster import Cluster
from components.contract import Deployed
from components.mlflow.database.args import (
    CloudNativePgArgs,
    CloudNativePgBackupArgs,
    MlflowDatabaseArgs,
)
from components.monitoring import deployed_monitoring
from components.postgres_operator.component import API_VERSION, PostgresOperator

POSTGRES_PORT = 5432
MONITORING_API = "monitoring.coreos.com/v1"
# The instance manager's metrics port, named `metrics` on every instance pod.
METRICS_PORT = "metrics"


@dataclass(frozen=True)
class BlobBackupTarget:
    """aks: where the backups go in Azure Blob storage, and who writes them."""

    destination_path: str
    """`https://<account>.blob.core.windows.net/<container>/<path>`."""
    client_id: pulumi.Output[str]
    """The client ID of the managed identity federated to the Cluster's service account."""


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
    deployed: Deployed,
    namespace: str,
    parent: pulumi.ComponentResource,
    depends_on: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """The Cluster (and its PodMonitor and ScheduledBackup, and on aks the backup identity)
    named after `name`; returns what MLflow must wait for."""
    settings = args.cloudnative_pg
    after = [*operator.crds, operator.chart, *depends_on]
    blob_target = None
    if settings.backup is not None and cluster.azure is not None:
        blob_target = blob_backup_target(
            f"{name}-db-backup",
            settings,
            cluster=cluster,
            deployed=deployed,
            namespace=namespace,
            parent=parent,
        )
    database = k8s.apiextensions.CustomResource(
        f"{name}-db",
        api_version=API_VERSION,
        kind="Cluster",
        metadata=cluster.metadata(settings.cluster_name, namespace),
        spec=cluster_spec(args, cluster, blob_target),
        opts=pulumi.ResourceOptions.merge(
            cluster.stateful_options(parent), pulumi.ResourceOptions(depends_on=after)
        ),
    )
    after_cluster = pulumi.ResourceOptions.merge(
        cluster.resource_options(parent), pulumi.ResourceOptions(depends_on=[database, *after])
    )
    monitoring = deployed_monitoring(deployed)
    if operator.monitored and monitoring is not None:
        k8s.apiextensions.CustomResource(
            f"{name}-db-metrics",
            api_version=MONITORING_API,
            kind="PodMonitor",
            metadata=cluster.metadata(settings.cluster_name, namespace),
            spec={
                "selector": {"matchLabels": {"cnpg.io/cluster": settings.cluster_name}},
                "podMetricsEndpoints": [{"port": METRICS_PORT}],
            },
            # The PodMonitor CRD is the monitoring component's.
            opts=pulumi.ResourceOptions.merge(
                after_cluster, pulumi.ResourceOptions(depends_on=list(monitoring.crds))
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


def blob_backup_target(
    name: str,
    settings: CloudNativePgArgs,
    *,
    cluster: Cluster,
    deployed: Deployed,
    namespace: str,
    parent: pulumi.ComponentResource,
) -> BlobBackupTarget:
    """aks: a managed identity federated to the Cluster's service account (the operator
    names it after the Cluster), Storage Blob Data Contributor on the backup container
    only."""
    from components.blob_storage import COMPONENT as BLOB_STORAGE  # noqa: PLC0415
    from components.blob_storage.account import BlobStorage  # noqa: PLC0415 (SDK on aks)
    from components.blob_storage.identity import (  # noqa: PLC0415
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        container_identity,
    )

    backup, storage, azure = settings.backup, deployed.require(BLOB_STORAGE), cluster.azure
    if backup is None or not isinstance(storage, BlobStorage) or azure is None:  # pragma: no cover
        raise TypeError(f"{name}: backups on aks need blob_storage and the cluster's Azure")
    identity = container_identity(
        name,
        azure=azure,
        namespace=namespace,
        service_account=settings.cluster_name,
        container=storage.containers[backup.container],
        role=STORAGE_BLOB_DATA_CONTRIBUTOR,
        description=f"Plinth: MLflow database backups ({namespace}/{settings.cluster_name})",
        parent=parent,
    )
    return BlobBackupTarget(
        destination_path=(
            f"https://{storage.account_name}.blob.core.windows.net/{backup.container}/{backup.path}"
        ),
        client_id=identity.client_id,
    )


def cluster_spec(
    args: MlflowDatabaseArgs, cluster: Cluster, blob_target: BlobBackupTarget | None = None
) -> dict[str, Any]:
    """The `Cluster`'s spec for MLflow's database (`blob_target`: aks backups)."""
    settings = args.cloudnative_pg
    storage: dict[str, Any] = {"size": f"{settings.storage_size_gib}Gi"}
    if settings.storage_class is not None:
        storage["storageClass"] = settings.storage_class
    pod_labels = dict(cluster.labels)
    if blob_target is not None:
        pod_labels.update(WORKLOAD_IDENTITY_LABEL)
    spec: dict[str, Any] = {
        "instances": settings.instances,
        "imageName": versions.CLOUDNATIVE_PG_POSTGRES_IMAGE,
        "enableSuperuserAccess": False,
        "bootstrap": {"initdb": {"database": args.name, "owner": args.username}},
        "storage": storage,
        "resources": settings.resources.to_kubernetes(),
        "inheritedMetadata": {"labels": dict(sorted(pod_labels.items()))},
    }
    if settings.backup is not None:
        spec["backup"] = {
            "barmanObjectStore": object_store(settings.backup, blob_target),
            "retentionPolicy": f"{settings.backup.retention_days}d",
        }
    if blob_target is not None:
        spec["serviceAccountTemplate"] = {
            "metadata": {"annotations": {CLIENT_ID_ANNOTATION: blob_target.client_id}}
        }
    return spec


def object_store(
    backup: CloudNativePgBackupArgs, blob_target: BlobBackupTarget | None = None
) -> dict[str, Any]:
    """`barmanObjectStore`: where base backups and WAL go, and with which credentials:
    the workload identity on aks (`blob_target`), the team's key pair elsewhere."""
    store: dict[str, Any] = {
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if blob_target is not None:
        store["destinationPath"] = blob_target.destination_path
        store["azureCredentials"] = {"inheritFromAzureAD": True}
        return store
    if backup.destination_path is None or backup.credentials_secret is None:  # pragma: no cover
        raise ValueError("S3 backups need destination_path and credentials_secret")
    store["destinationPath"] = backup.destination_path
    store["s3Credentials"] = {
        "accessKeyId": {"name": backup.credentials_secret, "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": backup.credentials_secret, "key": "ACCESS_SECRET_KEY"},
    }
    if backup.endpoint_url is not None:
        store["endpointURL"] = backup.endpoint_url
    return store
