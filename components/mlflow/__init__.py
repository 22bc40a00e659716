"""The MLflow tracking server component (`plinth:mlflow`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.blob_storage import COMPONENT as BLOB_STORAGE
from components.contract import Component, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.mesh import COMPONENT as MESH
from components.mlflow.args import MlflowArgs
from components.mlflow.database import database_problem
from components.monitoring import COMPONENT as MONITORING
from components.object_storage import COMPONENT as OBJECT_STORAGE
from components.postgres_operator import COMPONENT as POSTGRES_OPERATOR

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: MlflowArgs, cluster: Cluster, deployed: Deployed, where: Placement
) -> pulumi.ComponentResource:
    from components.mlflow.component import Mlflow  # noqa: PLC0415 (SDK on deploy)

    return Mlflow(where.name, args, cluster=cluster, deployed=deployed, opts=where.options())


def served_by(host: str, gateway_hosts: tuple[str, ...]) -> bool:
    """Whether the gateway serves `host`: listed, or one label under a listed wildcard."""
    return any(
        host == served or (served.startswith("*.") and host.split(".", 1)[-1] == served[2:])
        for served in gateway_hosts
    )


def _problem(args: MlflowArgs, config: PlatformConfig) -> str | None:
    """The host the gateway must serve, the artifact store each target needs, and the
    database's own checks."""
    gateway_hosts = config.args(MESH).gateway.hosts
    host = args.routed_host(gateway_hosts)
    if not served_by(host, gateway_hosts):
        setting = "mlflow.host" if args.host else "mlflow.host (default mlflow.<first host>)"
        return (
            f"{setting} is {host}, which mesh.gateway.hosts does not serve: add {host} "
            "(or a wildcard over it) to plinth:mesh.gateway.hosts, or set plinth:mlflow.host "
            "to one of them"
        )
    target = config.facts.target
    if target == "existing" and args.s3_endpoint is None:
        return (
            "mlflow.s3_endpoint is not set but cluster.target is 'existing': MLflow needs an "
            "S3-compatible store for its artifacts; set plinth:mlflow.s3_endpoint "
            "(endpoint_url, bucket, credentials_secret)"
        )
    if target != "existing" and args.s3_endpoint is not None:
        store = "object_storage" if target == "eks" else "blob_storage"
        return (
            f"mlflow.s3_endpoint is set but cluster.target is {target!r}, where MLflow keeps "
            f"its artifacts in {store}: remove plinth:mlflow.s3_endpoint"
        )
    if target == "eks":
        storage = config.args(OBJECT_STORAGE)
        if not storage.enabled or args.artifact_bucket not in storage.buckets:
            return (
                f"mlflow.artifact_bucket is {args.artifact_bucket!r}, not a bucket of "
                "plinth:object_storage: enable object_storage with that bucket, or set "
                "mlflow.artifact_bucket to one of its buckets"
            )
    if target == "aks":
        blobs = config.args(BLOB_STORAGE)
        if not blobs.enabled or args.artifact_container not in blobs.containers:
            return (
                f"mlflow.artifact_container is {args.artifact_container!r}, not a container "
                "of plinth:blob_storage: enable blob_storage with that container, or set "
                "mlflow.artifact_container to one of its containers"
            )
    return database_problem(args.database, config)


COMPONENT = Component(
    key="mlflow",
    args=MlflowArgs,
    name="mlflow",
    summary="MLflow tracking server and model registry (community-charts mlflow) on "
    "PostgreSQL, artifacts in the object store, basic-auth, served through the gateway.",
    deploy=_deploy,
    # The gateway (and its certificate, through the mesh's own requirement) serve it.
    requires=(MESH,),
    uses=(MONITORING, JOBS_NAMESPACE, OBJECT_STORAGE, BLOB_STORAGE, POSTGRES_OPERATOR),
    namespaces=lambda args: {"namespace": args.namespace},
    problem=_problem,
)
