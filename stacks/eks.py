"""The `eks` target: Plinth creates the cluster on AWS, with everything around it.

An AWS provider carrying the environment's ownership tags as default tags, the VPC
(`components/aws/network.py`), the EKS cluster and its add-ons (`eks_cluster.py`), one
managed node group per `plinth:node_pools` entry (`node_pool.py`), cluster-autoscaler, and
the S3 buckets and Mountpoint volumes of `plinth:object_storage`. Everything is built from
pulumi-aws resources directly, so the plan and the policy pack see every one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.cluster_autoscaler import ClusterAutoscaler
from components.aws.context import AwsContext
from components.aws.eks_cluster import EksCluster, EksClusterArgs
from components.aws.network import Network
from components.aws.node_pool import EksNodePool
from components.aws.object_storage import ObjectStorage, ObjectStorageArgs, S3Volumes
from components.cluster import Cluster
from components.jobs_namespace import JobsNamespace
from stacks.config import PlatformConfig
from stacks.migrations import component_options


def cluster_name(environment: str) -> str:
    """The EKS cluster's name: fixed, because subnet and autoscaler tags carry it."""
    return f"plinth-{environment}"


def ownership_tags(environment: str, config: PlatformConfig) -> dict[str, str]:
    """The tags every AWS resource carries (the policy pack's cloud-required-tags keys)."""
    return {
        "cost-centre": config.ownership.cost_centre,
        "environment": environment,
        "managed-by": "plinth",
        "owner": config.ownership.owner,
        "tier": config.tier,
    }


def autoscaling_group_arns(cluster_arn: str, group_names: Sequence[str]) -> list[str]:
    """The ARNs of the node groups' Auto Scaling groups, in the cluster's region and
    account (the group's id part is a wildcard: EKS reports only the name)."""
    _, partition, _, region, account, _ = cluster_arn.split(":", 5)
    return [
        f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"
        for name in sorted(group_names)
    ]


@dataclass(frozen=True)
class EksTarget:
    """What the rest of the program deploys onto: the cluster, and the AWS pieces that
    Kubernetes components attach to."""

    environment: str
    cluster: Cluster
    eks: EksCluster
    aws_context: AwsContext
    object_storage: ObjectStorage | None
    object_storage_args: ObjectStorageArgs

    def attach_jobs(self, jobs: JobsNamespace) -> None:
        """Mount the object storage volumes in the jobs namespace, each with its own role."""
        if self.object_storage is None:
            return
        S3Volumes(
            f"{self.environment}-s3-volumes",
            self.object_storage_args,
            storage=self.object_storage,
            cluster=self.cluster,
            jobs_namespace=jobs,
            aws_context=self.aws_context,
            issuer=self.eks.issuer,
            opts=component_options(f"{self.environment}-s3-volumes"),
        )


def build(
    environment: str,
    settings: EksClusterArgs,
    config: PlatformConfig,
    labels: Mapping[str, str],
    *,
    protect_stateful: bool,
) -> EksTarget:
    """The whole AWS side of an environment, and the cluster handle for the rest."""
    tags = ownership_tags(environment, config)
    provider = aws.Provider(
        f"{environment}-aws", region=settings.region, default_tags={"tags": tags}
    )
    context = AwsContext(provider, settings.region, protect_stateful, tags)
    name = cluster_name(environment)
    network = Network(
        f"{environment}-network",
        settings,
        aws_context=context,
        cluster_name=name,
        opts=component_options(f"{environment}-network"),
    )
    eks = EksCluster(
        f"{environment}-eks",
        settings,
        aws_context=context,
        cluster_name=name,
        private_subnet_ids=network.private_subnet_ids,
        labels=labels,
        opts=component_options(f"{environment}-eks"),
    )
    pools = [
        EksNodePool(
            f"{environment}-nodes-{pool_name}",
            pool_name,
            pool,
            eks=eks,
            aws_context=context,
            subnet_ids=network.private_subnet_ids,
            opts=component_options(f"{environment}-nodes-{pool_name}"),
        )
        for pool_name, pool in sorted(config.node_pools.items())
    ]
    eks.install_node_addons(pools)
    if settings.autoscaler.enabled:
        ClusterAutoscaler(
            f"{environment}-autoscaler",
            settings.autoscaler,
            cluster=eks.kubernetes,
            aws_context=context,
            issuer=eks.issuer,
            cluster_name=eks.eks.name,
            autoscaling_group_arns=pulumi.Output.all(
                eks.eks.arn, *[pool.autoscaling_group_name for pool in pools]
            ).apply(lambda values: autoscaling_group_arns(values[0], values[1:])),
            opts=component_options(f"{environment}-autoscaler", depends_on=pools),
        )
    storage = None
    if config.object_storage.enabled:
        storage = ObjectStorage(
            f"{environment}-storage",
            config.object_storage,
            aws_context=context,
            opts=component_options(f"{environment}-storage"),
        )
    return EksTarget(
        environment=environment,
        cluster=eks.kubernetes,
        eks=eks,
        aws_context=context,
        object_storage=storage,
        object_storage_args=config.object_storage,
    )
