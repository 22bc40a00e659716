"""The S3 object storage component (`plinth:object_storage`, eks target); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.contract import ClusterFacts, Component, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_volumes import jobs_name_collision
from components.object_storage.args import ObjectStorageArgs, volume_name

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: ObjectStorageArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    """The buckets and, when the environment has a jobs namespace, the volumes jobs mount."""
    from components.jobs_namespace.component import JobsNamespace  # noqa: PLC0415 (SDK on deploy)
    from components.object_storage.buckets import ObjectStorage  # noqa: PLC0415
    from components.object_storage.volumes import S3Volumes  # noqa: PLC0415

    if cluster.aws is None:  # pragma: no cover (the loader refuses object_storage off AWS)
        raise ValueError(f"{where.name}: object storage needs a cluster on AWS")
    storage = ObjectStorage(where.name, args, aws_context=cluster.aws.context, opts=where.options())
    jobs = deployed.get(JOBS_NAMESPACE)
    if isinstance(jobs, JobsNamespace):
        volumes = f"{where.environment}-s3-volumes"
        S3Volumes(
            volumes,
            args,
            storage=storage,
            cluster=cluster,
            jobs_namespace=jobs,
            aws_context=cluster.aws.context,
            issuer=cluster.aws.issuer,
            opts=where.top_level_options(volumes),
        )
    return storage


def on_aws(facts: ClusterFacts) -> bool:
    """S3 needs a cluster whose target brings AWS."""
    return facts.cloud == "aws"


def _problem(args: ObjectStorageArgs, config: PlatformConfig) -> str | None:
    """Two objects with one name in the jobs namespace: each S3 volume brings a claim and a
    service account `s3-<name>` there."""
    claims = {volume_name(key): key for key in args.volumes}
    return jobs_name_collision(config, "object_storage.volumes", claims)


COMPONENT = Component(
    key="object_storage",
    args=ObjectStorageArgs,
    name="storage",
    summary="S3 buckets and the Mountpoint volumes jobs mount (eks target only).",
    deploy=_deploy,
    uses=(JOBS_NAMESPACE,),
    targets=("eks",),
    applies=on_aws,
    problem=_problem,
)
