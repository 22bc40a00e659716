"""Settings of the MLflow tracking server (`plinth:mlflow`): pydantic only, no cloud SDK.

Where its artifacts go depends on the cluster's target: the object_storage bucket on EKS,
the blob_storage container on AKS, an S3-compatible endpoint from `s3_endpoint` on an
existing cluster. Its database is `database` (components/mlflow/database/).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ChartArgs,
    ContainerResources,
    FrozenModel,
    OwnNamespace,
)
from components.mesh.args import HOSTNAME
from components.mlflow.database.args import MlflowDatabaseArgs

# An S3 bucket name (the rules S3 documents for general purpose buckets, in short).
BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# A key prefix without leading or trailing slash: `mlflow`, `teams/ml/mlflow`.
KEY_PREFIX = r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$"
Permission = Literal["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"]


class S3EndpointArgs(FrozenModel):
    """An S3-compatible object store (MinIO, Ceph RGW, ...) for MLflow's artifacts on an
    existing cluster. Its keys stay in a Secret the team creates: never in config."""

    endpoint_url: str = Field(
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$",
        description="The store's URL, e.g. https://s3.example.internal or "
        "http://minio.minio.svc.cluster.local:9000 (MLflow's MLFLOW_S3_ENDPOINT_URL).",
    )
    bucket: str = Field(pattern=BUCKET_NAME, description="The bucket artifacts go to.")
    credentials_secret: str = Field(
        "mlflow-s3",
        pattern=DNS_LABEL,
        description="A Secret the team creates in MLflow's namespace with keys "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the store's access key pair.",
    )

    @property
    def port(self) -> int:
        """The TCP port the endpoint listens on (MLflow's egress allows it)."""
        authority = self.endpoint_url.split("://", 1)[1].rstrip("/")
        if ":" in authority:
            return int(authority.rsplit(":", 1)[1])
        return 443 if self.endpoint_url.startswith("https://") else 80


class MlflowArgs(ChartArgs):
    """Settings of the MLflow tracking server and model registry."""

    enabled: bool = Field(
        False,
        description="true deploys MLflow (every shipped environment does). Off by default: "
        "it needs an artifact store (object_storage, blob_storage or s3_endpoint) and, "
        "off eks, postgres_operator, which a minimal environment does not have.",
    )

    namespace: OwnNamespace = Field(
        "mlflow", pattern=DNS_LABEL, description="Namespace of MLflow and its database."
    )
    host: str | None = Field(
        None,
        pattern=HOSTNAME,
        description="The gateway host MLflow is served on over HTTPS: one of "
        "mesh.gateway.hosts (or under one of its wildcards). Default: mlflow.<the first "
        "gateway host>, which must then be listed there too.",
    )
    replicas: int = Field(
        1,
        ge=1,
        le=10,
        description="MLflow server replicas (stateless: the database and "
        "the artifact store hold everything).",
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="250m", memory_request="512Mi", cpu_limit="2", memory_limit="2Gi"
        ),
        description="The MLflow server container's resources (also its schema migration).",
    )
    admin_username: str = Field(
        "admin",
        pattern=r"^[A-Za-z0-9_.@-]+$",
        description="The basic-auth administrator MLflow creates at its first start.",
    )
    admin_password: str | None = Field(
        None,
        description="The administrator's first password, set with `pulumi config set "
        "--secret --path plinth:mlflow.admin_password`: Plinth keeps it in the Secret "
        "admin_secret. Unset: Plinth creates no Secret and MLflow reads admin_secret, which "
        "the team creates (never a generated password). Read at MLflow's first start only: "
        "README, 'Rotate the admin password'.",
        json_schema_extra=SECRET_CAPABLE,
    )
    admin_secret: str = Field(
        "mlflow-admin",
        pattern=DNS_LABEL,
        description="Secret with keys username and password that MLflow's basic-auth reads.",
    )
    flask_secret_key: str | None = Field(
        None,
        description="The key MLflow signs its CSRF tokens with, set with `pulumi config set "
        "--secret --path plinth:mlflow.flask_secret_key`: Plinth keeps it in the Secret "
        "mlflow-flask-server-secret-key. Unset: the team creates that Secret (key "
        "MLFLOW_FLASK_SERVER_SECRET_KEY); the chart's own generated one is a Helm hook, "
        "which Pulumi never applies.",
        json_schema_extra=SECRET_CAPABLE,
    )
    metrics_secret: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description="Secret (keys username, password) of the MLflow user Prometheus "
        "scrapes /metrics as (basic-auth guards it too); unset: admin_secret.",
    )
    default_permission: Permission = Field(
        "READ",
        description="What every signed-in user may do with experiments and models they "
        "were given no permission on (basic-auth's default_permission).",
    )
    artifact_prefix: str = Field(
        "mlflow",
        pattern=KEY_PREFIX,
        description="Key prefix of MLflow's artifacts in the bucket or container; on EKS "
        "MLflow's IAM role reaches only the objects under it.",
    )
    artifact_bucket: str = Field(
        "artifacts",
        pattern=DNS_LABEL,
        description="eks: the object_storage bucket key artifacts go to.",
    )
    artifact_container: str = Field(
        "artifacts",
        pattern=DNS_LABEL,
        description="aks: the blob_storage container key artifacts go to.",
    )
    s3_endpoint: S3EndpointArgs | None = Field(
        None,
        description="existing clusters (required there): the S3-compatible store "
        "artifacts go to. Not used on eks or aks, whose storage components serve MLflow.",
    )
    database: MlflowDatabaseArgs = Field(
        default_factory=MlflowDatabaseArgs,
        description="The PostgreSQL database (RDS on eks, CloudNativePG elsewhere).",
    )

    def routed_host(self, gateway_hosts: tuple[str, ...]) -> str:
        """The host MLflow is served on: `host`, or `mlflow.` + the first gateway host."""
        return self.host or f"mlflow.{gateway_hosts[0].removeprefix('*.')}"
