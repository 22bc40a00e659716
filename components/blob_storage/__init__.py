"""The Azure Blob storage component (`plinth:blob_storage`, aks target); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.blob_storage.args import BlobStorageArgs, volume_name
from components.contract import ClusterFacts, Component, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_volumes import jobs_name_collision

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: BlobStorageArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    """The storage account and containers and, when the environment has a jobs namespace,
    the volumes jobs mount."""
    from components.blob_storage.account import BlobStorage  # noqa: PLC0415 (SDK on deploy)
    from components.blob_storage.volumes import BlobVolumes  # noqa: PLC0415
    from components.jobs_namespace.component import JobsNamespace  # noqa: PLC0415

    if cluster.azure is None:  # pragma: no cover (the loader refuses blob_storage off Azure)
        raise ValueError(f"{where.name}: Blob storage needs a cluster on Azure")
    storage = BlobStorage(
        where.name, args, azure_context=cluster.azure.context, opts=where.options()
    )
    jobs = deployed.get(JOBS_NAMESPACE)
    if isinstance(jobs, JobsNamespace):
        volumes = f"{where.environment}-blob-volumes"
        BlobVolumes(
            volumes,
            args,
            storage=storage,
            cluster=cluster,
            jobs_namespace=jobs,
            azure=cluster.azure,
            opts=where.top_level_options(volumes),
        )
    return storage


def on_azure(facts: ClusterFacts) -> bool:
    """Blob storage needs a cluster whose target brings Azure."""
    return facts.cloud == "azure"


def _problem(args: BlobStorageArgs, config: PlatformConfig) -> str | None:
    """Two objects with one name in the jobs namespace: each Blob volume brings a claim and
    a service account `blob-<name>` there."""
    claims = {volume_name(key): key for key in args.volumes}
    return jobs_name_collision(config, "blob_storage.volumes", claims)


COMPONENT = Component(
    key="blob_storage",
    args=BlobStorageArgs,
    name="blob",
    summary="An Azure storage account, containers and the blobfuse2 volumes jobs mount (aks only).",
    deploy=_deploy,
    uses=(JOBS_NAMESPACE,),
    targets=("aks",),
    applies=on_azure,
    problem=_problem,
)
