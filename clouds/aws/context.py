"""What every AWS component receives: the provider to create through and the environment's
rules for resources that hold data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pulumi
import pulumi_aws as aws

from clouds.context import CloudContext


@dataclass(frozen=True)
class AwsContext(CloudContext):
    """The AWS provider of one environment (its region and default tags) and whether
    resources holding data are protected (prod)."""

    provider: aws.Provider
    region: str
    protect_stateful: bool
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The environment's ownership tags (also the provider's default tags), for what the
    provider does not tag by itself, such as the instances a node group launches."""


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's OIDC issuer as IAM knows it, for IRSA trust policies."""

    provider_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    """The issuer URL, `https://oidc.eks.<region>.amazonaws.com/id/<id>`."""


@dataclass(frozen=True)
class AwsNetwork:
    """Where the cluster's nodes are, for AWS services that live beside them (MLflow's RDS
    database): its VPC, private subnets and the security group of its nodes and pods."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: tuple[pulumi.Output[str], ...]
    node_security_group_id: pulumi.Output[str]
    """The EKS cluster security group: EKS puts it on the control plane and on every managed
    node group's nodes, and pods (the VPC CNI, without security groups for pods) use their
    node's."""


@dataclass(frozen=True)
class AwsCloud:
    """What a cluster built on AWS brings to components that use AWS services (the S3
    volumes): the environment's AWS context, the cluster's OIDC issuer and its network."""

    context: AwsContext
    issuer: OidcIssuer
    network: AwsNetwork | None = None
    """None only where a test builds a cluster without one."""
