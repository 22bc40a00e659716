"""The `eks` target: Plinth creates the cluster on AWS, with everything around it.

An AWS provider carrying the environment's ownership tags as default tags, the VPC
(`network.py`), the EKS control plane (`control_plane.py`), one managed node group per
`plinth:node_pools` entry (`node_pool.py`), the add-ons that run on nodes, and
cluster-autoscaler (`cluster_autoscaler.py`). Everything is built from pulumi-aws resources
directly, so the plan and the policy pack see every one of them. The cluster it returns
brings AWS (`Cluster.aws`) to components that use it, such as object storage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from clouds.aws.context import AwsContext, AwsNetwork
from components.cluster import Cluster
from stacks.config import PlatformConfig
from stacks.migrations import component_options
from targets.eks.args import EksClusterArgs
from targets.eks.cluster_autoscaler import ClusterAutoscaler, scrape_target
from targets.eks.control_plane import EksCluster, EksNodeAddons
from targets.eks.network import Network
from targets.eks.node_pool import EksNodePool
from targets.registry import ownership_tags


def cluster_name(environment: str) -> str:
    """The EKS cluster's name: fixed, because subnet and autoscaler tags carry it."""
    return f"plinth-{environment}"


def autoscaling_group_arns(cluster_arn: str, group_names: Sequence[str]) -> list[str]:
    """The ARNs of the node groups' Auto Scaling groups, in the cluster's region and
    account (the group's id part is a wildcard: EKS reports only the name)."""
    _, partition, _, region, account, _ = cluster_arn.split(":", 5)
    return [
        f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"
        for name in sorted(group_names)
    ]


def build(
    environment: str, config: PlatformConfig, labels: Mapping[str, str], protect_stateful: bool
) -> Cluster:
    """The whole AWS side of an environment's cluster, and the cluster handle for the rest."""
    settings = config.cluster
    if not isinstance(settings, EksClusterArgs):  # pragma: no cover (targets/registry.py)
        raise TypeError("the eks target needs plinth:cluster.target: eks")
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
        gpu_nodes=bool(config.gpu_pools),
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
    cluster = with_network(eks, network)
    EksNodeAddons(
        f"{environment}-eks-node-addons",
        eks=eks,
        node_pools=pools,
        opts=component_options(f"{environment}-eks-node-addons"),
    )
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
        # The autoscaler runs before any component: the cluster tells monitoring to scrape it.
        return dataclasses.replace(cluster, scrape_targets=(scrape_target(),))
    return cluster


def with_network(eks: EksCluster, network: Network) -> Cluster:
    """The cluster handle, its AWS side knowing the network (for RDS beside the nodes)."""
    aws_cloud = eks.kubernetes.aws
    if aws_cloud is None:  # pragma: no cover (EksCluster always sets it)
        raise TypeError("an EKS cluster without its AWS side")
    node_security_group = eks.eks.vpc_config.apply(
        lambda config: config.cluster_security_group_id or ""
    )
    return dataclasses.replace(
        eks.kubernetes,
        aws=dataclasses.replace(
            aws_cloud,
            network=AwsNetwork(
                vpc_id=network.vpc_id,
                private_subnet_ids=tuple(network.private_subnet_ids),
                node_security_group_id=node_security_group,
            ),
        ),
    )
