"""Settings of MLflow's database (`plinth:mlflow.database`): pydantic only.

On an `eks` cluster the database is an RDS PostgreSQL instance (`rds`); on every other
cluster a CloudNativePG `Cluster` in MLflow's namespace (`cloudnative_pg`). Only the
settings of the engine the environment uses take effect.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.args import DNS_LABEL, SECRET_CAPABLE, ContainerResources, FrozenModel
from components.blob_storage.args import CONTAINER_NAME

# A PostgreSQL identifier Plinth also uses as a Kubernetes-safe name: lower case, no dash.
POSTGRES_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"


class RdsArgs(FrozenModel):
    """The RDS PostgreSQL instance MLflow uses on an `eks` cluster."""

    engine_version: str = Field(
        "17",
        pattern=r"^[0-9]{2}$",
        description=(
            "PostgreSQL major version; RDS picks the newest minor and applies minor "
            "upgrades in the maintenance window (auto_minor_version_upgrade)."
        ),
    )
    instance_class: str = Field(
        "db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="RDS instance class."
    )
    allocated_storage_gib: int = Field(20, ge=20, le=65536, description="Initial gp3 storage.")
    max_allocated_storage_gib: int = Field(
        100, ge=20, le=65536, description="Storage autoscaling ceiling (>= allocated)."
    )
    backup_retention_days: int = Field(
        7, ge=1, le=35, description="Days of automated backups (point-in-time recovery)."
    )
    multi_az: bool = Field(False, description="A standby in a second zone (prod: true).")
    deletion_protection: bool = Field(
        False, description="RDS refuses to delete the instance (prod: true)."
    )
    final_snapshot: bool = Field(
        False, description="Take a final snapshot when the instance is deleted (prod: true)."
    )
    performance_insights: bool = Field(
        True, description="Performance Insights, 7 days of history (the free retention)."
    )
    monitoring_interval_s: Literal[0, 1, 5, 10, 15, 30, 60] = Field(
        0, description="Enhanced monitoring interval in seconds; 0 turns it off."
    )


class CloudNativePgBackupArgs(FrozenModel):
    """Where the CloudNativePG cluster backs up to. The form follows the target: on an
    `existing` cluster an S3-compatible object store with the team's key pair
    (`destination_path`, `endpoint_url`, `credentials_secret`); on `aks` a container of the
    environment's storage account (blob_storage), reached through a managed identity
    federated to the Cluster's service account (`container`, `path`), with no key."""

    destination_path: str | None = Field(
        None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description=(
            "existing: s3://bucket/prefix the base backups and WAL archive go to (required "
            "there); aks: leave unset."
        ),
    )
    endpoint_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="existing: the S3-compatible endpoint; unset for AWS S3 itself.",
    )
    credentials_secret: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description=(
            "existing: a Secret the team creates in MLflow's namespace with keys "
            "ACCESS_KEY_ID and ACCESS_SECRET_KEY (never keys in config; required there); "
            "aks: leave unset (workload identity)."
        ),
    )
    container: str = Field(
        "backups",
        pattern=CONTAINER_NAME,
        min_length=3,
        max_length=63,
        description=(
            "aks: the blob_storage container backups go to; a container of their own, "
            "since the backup identity may read, write and delete all of it."
        ),
    )
    path: str = Field(
        "mlflow",
        pattern=r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$",
        description="aks: the folder in `container` (barman adds `<cluster_name>/` below it).",
    )
    retention_days: int = Field(30, ge=1, le=3650, description="Days backups are kept.")
    schedule: str = Field(
        "0 0 3 * * *",
        pattern=r"^\S+( \S+){5}$",
        description="ScheduledBackup cron, six fields with seconds first (03:00 daily).",
    )


class CloudNativePgArgs(FrozenModel):
    """The CloudNativePG `Cluster` MLflow uses on existing and AKS clusters."""

    cluster_name: str = Field(
        "mlflow-db",
        pattern=DNS_LABEL,
        description="The Cluster's name; its `<name>-rw` Service and `<name>-app` Secret follow.",
    )
    instances: int = Field(1, ge=1, le=9, description="PostgreSQL instances (prod: 3).")
    storage_size_gib: int = Field(10, ge=1, description="Volume size of each instance.")
    storage_class: str | None = Field(
        None, description="Storage class of the volumes; unset: the cluster's default."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi"
        ),
        description="Resources of each PostgreSQL instance.",
    )
    backup: CloudNativePgBackupArgs | None = Field(
        None,
        description=(
            "Backups to an object store (existing: S3-compatible; aks: Azure Blob); unset: "
            "no backups (not in prod)."
        ),
    )


class MlflowDatabaseArgs(FrozenModel):
    """The PostgreSQL database MLflow keeps its runs, registry and users in."""

    name: str = Field("mlflow", pattern=POSTGRES_IDENTIFIER, description="The database name.")
    username: str = Field(
        "mlflow", pattern=POSTGRES_IDENTIFIER, description="The user MLflow connects as."
    )
    password: str | None = Field(
        None,
        description=(
            "eks only: the RDS master password, set with `pulumi config set --secret --path "
            "plinth:mlflow.database.password`; Plinth writes it to the Secret mlflow-database "
            "in MLflow's namespace. Unset: RDS generates one into Secrets Manager and the team "
            "creates that Secret from it (Plinth never generates a password). Elsewhere "
            "CloudNativePG generates it into the Secret `<cluster_name>-app`."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    rds: RdsArgs = Field(default_factory=RdsArgs, description="eks: the RDS instance.")
    cloudnative_pg: CloudNativePgArgs = Field(
        default_factory=CloudNativePgArgs, description="Other targets: the CloudNativePG Cluster."
    )
