"""MLflow's PostgreSQL database: RDS on EKS, a CloudNativePG `Cluster` elsewhere.

The MLflow component calls `deploy_database` after creating its namespace and points the
chart at what it returns; its `problem` calls `database_problem`. See README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.blob_storage import COMPONENT as BLOB_STORAGE
from components.postgres_operator import COMPONENT as POSTGRES_OPERATOR

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from components.contract import Deployed
    from components.mlflow.database.args import CloudNativePgBackupArgs, MlflowDatabaseArgs
    from stacks.config import PlatformConfig

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class MlflowDatabase:
    """How MLflow reaches its database."""

    host: pulumi.Input[str]
    """The DNS name MLflow connects to."""
    port: int
    name: str
    """The database name."""
    credentials_secret: str
    """A Secret in MLflow's namespace with keys `username` and `password`."""
    resources: Sequence[pulumi.Resource]
    """What MLflow's chart must wait for."""
    ssl_mode: str = "require"
    """libpq's `PGSSLMODE` for MLflow's pods (the chart's `extraEnvVars`): the chart builds
    `postgresql://` URIs from libpq's variables, and both engines serve TLS (RDS insists
    on it; CloudNativePG enables it with its own CA), so every connection is encrypted."""


def deploy_database(
    args: MlflowDatabaseArgs,
    cluster: Cluster,
    deployed: Deployed,
    namespace: str,
    parent: pulumi.ComponentResource,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
    name: str | None = None,
) -> MlflowDatabase:
    """MLflow's database for `cluster`, its Kubernetes objects in `namespace` (created by
    the caller: pass the Namespace resource in `depends_on`), children of `parent`, named
    `<name>-db...` (`name`: the MLflow component's name; default `<environment>-mlflow`)."""
    prefix = name or f"{cluster.labels.get('plinth.io/environment', cluster.name)}-mlflow"
    if cluster.aws is not None:
        from components.mlflow.database.rds import (  # noqa: PLC0415 (SDK on deploy)
            RDS_CREDENTIALS_SECRET,
            deploy_rds,
        )

        instance, secret = deploy_rds(
            prefix, args, cluster, namespace=namespace, parent=parent, depends_on=depends_on
        )
        return MlflowDatabase(
            host=instance.address,
            port=POSTGRES_PORT,
            name=args.name,
            credentials_secret=RDS_CREDENTIALS_SECRET,
            resources=[instance] if secret is None else [instance, secret],
        )
    from components.mlflow.database.cloudnative_pg import (  # noqa: PLC0415 (SDK on deploy)
        app_secret,
        deploy_cloudnative_pg,
        read_write_service,
    )
    from components.postgres_operator import deployed_postgres_operator  # noqa: PLC0415

    operator = deployed_postgres_operator(deployed)
    if operator is None:  # pragma: no cover (database_problem refuses such a configuration)
        raise LookupError("MLflow's database needs postgres_operator off eks")
    cluster_name = args.cloudnative_pg.cluster_name
    resources = deploy_cloudnative_pg(
        prefix,
        args,
        cluster,
        operator=operator,
        deployed=deployed,
        namespace=namespace,
        parent=parent,
        depends_on=depends_on,
    )
    return MlflowDatabase(
        host=f"{read_write_service(cluster_name)}.{namespace}.svc",
        port=POSTGRES_PORT,
        name=args.name,
        credentials_secret=app_secret(cluster_name),
        resources=resources,
    )


def database_problem(args: MlflowDatabaseArgs, config: PlatformConfig) -> str | None:
    """MLflow's database settings that cannot work on the environment's cluster, as one
    line with the fix (for the MLflow component's `problem`); or None."""
    rds = args.rds
    if config.on_eks and rds.max_allocated_storage_gib < rds.allocated_storage_gib:
        return (
            f"mlflow.database.rds.max_allocated_storage_gib is {rds.max_allocated_storage_gib}, "
            f"below allocated_storage_gib {rds.allocated_storage_gib}: set it to at least that"
        )
    if not config.on_eks and not config.args(POSTGRES_OPERATOR).enabled:
        return (
            "postgres_operator.enabled is false but MLflow's database runs on CloudNativePG "
            f"off eks (target {config.cluster.target!r}): set plinth:postgres_operator.enabled "
            "to true"
        )
    backup = args.cloudnative_pg.backup
    if backup is None or config.on_eks:
        return None
    return _blob_backup_problem(backup, config) if config.on_aks else _s3_backup_problem(backup)


def _s3_backup_problem(backup: CloudNativePgBackupArgs) -> str | None:
    """Off Azure the backups go to an S3-compatible store with the team's key pair."""
    if backup.destination_path is None or backup.credentials_secret is None:
        return (
            "mlflow.database.cloudnative_pg.backup needs destination_path (s3://bucket/prefix) "
            "and credentials_secret on this cluster: set both (and endpoint_url unless AWS S3)"
        )
    return None


def _blob_backup_problem(backup: CloudNativePgBackupArgs, config: PlatformConfig) -> str | None:
    """On aks the backups go to a blob_storage container through workload identity."""
    s3_settings = (backup.destination_path, backup.endpoint_url, backup.credentials_secret)
    if s3_settings != (None, None, None):
        return (
            "mlflow.database.cloudnative_pg.backup sets destination_path, endpoint_url or "
            "credentials_secret, but on aks backups go to a blob_storage container through "
            "workload identity: remove them and set container (and path)"
        )
    blobs = config.args(BLOB_STORAGE)
    if not blobs.enabled or backup.container not in blobs.containers:
        return (
            f"mlflow.database.cloudnative_pg.backup.container is {backup.container!r}, not a "
            "container of plinth:blob_storage: add it under plinth:blob_storage.containers or "
            "set backup.container to one of its containers"
        )
    return None
