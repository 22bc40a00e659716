"""Settings of the `eks` target (`plinth:cluster` with `target: eks`), its cluster
autoscaler included: pydantic only, no cloud SDK."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ComponentArgs,
    ContainerResources,
    FrozenModel,
)

Expander = Literal["least-waste", "most-pods", "random"]


class ClusterAutoscalerArgs(ComponentArgs):
    """Settings of the Cluster Autoscaler."""

    replicas: int = Field(
        1,
        ge=1,
        le=3,
        description=(
            "Autoscaler replicas. Only the leader of the election acts (it always runs, so a "
            "rolling update never has two acting); above 1 a standby takes over within "
            "seconds and a PodDisruptionBudget keeps one running through node drains."
        ),
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="100m", memory_request="600Mi", cpu_limit="1", memory_limit="600Mi"
        ),
        description=(
            "Autoscaler container resources; the default memory is upstream's example "
            "manifest's 600Mi, requested in full so the autoscaler is never the pod a "
            "memory-starved node evicts."
        ),
    )
    expander: Expander = Field(
        "least-waste",
        description=(
            "How to choose among node groups that could host pending pods: 'least-waste' the "
            "one left with the least idle CPU and memory, 'most-pods' the one that schedules "
            "the most pods, 'random' any."
        ),
    )
    scale_down_unneeded_time: timedelta = Field(
        timedelta(minutes=10),
        description=(
            "How long a node must be unneeded before it is removed (upstream's default, 10 "
            "minutes). Seconds, or ISO 8601 such as PT10M."
        ),
    )
    scale_down_delay_after_add: timedelta = Field(
        timedelta(minutes=10),
        description=(
            "How long after a scale-up scale-down evaluation resumes (upstream's default, 10 "
            "minutes). Seconds, or ISO 8601 such as PT10M."
        ),
    )
    balance_similar_node_groups: bool = Field(
        True,
        description=(
            "Spread scale-ups across node groups with the same instance shape and labels "
            "(e.g. one group per availability zone), keeping them level."
        ),
    )
    skip_nodes_with_local_storage: bool = Field(
        False,
        description=(
            "true: never remove a node running a pod with emptyDir or hostPath volumes. "
            "false (Plinth's default, upstream's is true) lets idle GPU nodes whose jobs use "
            "emptyDir scratch scale down."
        ),
    )
    skip_nodes_with_system_pods: bool = Field(
        True,
        description=(
            "true (upstream's default): never remove a node running a kube-system pod that is "
            "not a DaemonSet pod (CoreDNS, the autoscaler itself). GPU nodes run none, their "
            "taint keeps such pods off."
        ),
    )

    @field_validator("scale_down_unneeded_time", "scale_down_delay_after_add")
    @classmethod
    def _whole_seconds(cls, value: timedelta) -> timedelta:
        if value < timedelta(0) or value.microseconds:
            raise ValueError(f"{value} is not a whole, non-negative number of seconds")
        return value


AWS_REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"


IAM_PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$"


# Versions EKS offers (standard or extended support) that Plinth validates objects against.
EKS_KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")


LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


ALL_LOG_TYPES: tuple[LogType, ...] = (
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
)


def ipv4_network(what: str, value: str) -> ipaddress.IPv4Network:
    """`value` as an IPv4 network; a ValueError naming `what` and the fix otherwise."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"{what} {value!r} is not an IPv4 CIDR ({error}): write the network address and "
            "prefix length, e.g. 10.0.0.0/16"
        ) from None


class EksClusterArgs(FrozenModel):
    """An EKS cluster Plinth creates, with its VPC, in one region across three zones."""

    target: Literal["eks"] = Field(description="Which target builds the cluster.")
    region: str = Field(pattern=AWS_REGION, description="AWS region, e.g. eu-west-1.")
    availability_zones: tuple[str, str, str] = Field(
        description=(
            "The three zones of `region` the VPC spans, e.g. [eu-west-1a, eu-west-1b, "
            "eu-west-1c]; `plinth preflight` checks every GPU type is offered in each."
        )
    )
    kubernetes_version: Literal[EKS_KUBERNETES_VERSIONS] = Field(  # type: ignore[valid-type]
        "1.34",
        description=(
            "Pinned control-plane minor version; raising it upgrades the cluster in place "
            "(one minor at a time), lowering it is refused by EKS."
        ),
    )
    vpc_cidr: str = Field(
        "10.0.0.0/16",
        description=(
            "IPv4 range of the VPC, /16 to /20; split into three private (nodes, pods) and "
            "three public (load balancers) subnets. Changing it replaces the VPC and cluster."
        ),
    )
    nat_gateways: Literal["single", "per-zone"] = Field(
        "single",
        description=(
            "'single': one NAT gateway for the three zones (cheaper; a zone outage cuts "
            "egress). 'per-zone': one per zone, the prod default."
        ),
    )
    endpoint_public_access: bool = Field(
        True,
        description=(
            "Whether the API server also has a public endpoint (it always has a private "
            "one). The prod tier turns it off."
        ),
    )
    public_access_cidrs: tuple[str, ...] = Field(
        (),
        description=(
            "IPv4 CIDRs allowed on the public endpoint; empty allows any address (EKS's "
            "default). Only with endpoint_public_access true. Stay secret when plinth:cluster "
            "is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    log_types: tuple[LogType, ...] = Field(
        ALL_LOG_TYPES, description="Control-plane logs sent to CloudWatch Logs."
    )
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] = (
        Field(90, description="Days CloudWatch keeps the control-plane logs.")
    )
    autoscaler: ClusterAutoscalerArgs = Field(
        default_factory=ClusterAutoscalerArgs,
        description="cluster-autoscaler, which resizes the node pools (scale from zero included).",
    )
    cluster_admins: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], str] = Field(
        default_factory=dict,
        description=(
            "Name -> IAM role or user ARN given cluster-admin through EKS access entries (the "
            "identity running `pulumi up` always is). Keyed by a stable name, so removing one "
            "admin leaves the others' access entries alone. The ARNs stay secret when "
            "plinth:cluster is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )

    @field_validator("availability_zones", mode="before")
    @classmethod
    def _three_zones(cls, value: object) -> object:
        if isinstance(value, list | tuple) and len(value) != 3:
            raise ValueError(
                f"availability_zones lists {len(value)} zones: list exactly three zones of "
                "the region, e.g. [eu-west-1a, eu-west-1b, eu-west-1c]"
            )
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_size(cls, value: str) -> str:
        network = ipv4_network("vpc_cidr", value)
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(f"vpc_cidr {value} is a /{network.prefixlen}; use a /16 to /20")
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipv4_network("public_access_cidrs entry", cidr)
        return value

    @field_validator("cluster_admins", mode="before")
    @classmethod
    def _admins_by_name(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            raise ValueError(
                "cluster_admins is a list; write it as a map of a stable name to each ARN, "
                "e.g. {platform-admins: arn:aws:iam::111122223333:role/platform-admins}"
            )
        return value

    @field_validator("cluster_admins")
    @classmethod
    def _admins(cls, value: dict[str, str]) -> dict[str, str]:
        for arn in value.values():
            if not re.fullmatch(IAM_PRINCIPAL_ARN, arn):
                raise ValueError(
                    f"cluster_admins entry {arn!r} is not an IAM role or user ARN "
                    "(arn:aws:iam::<12-digit account>:role/<name>)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EksClusterArgs:
        outside = [z for z in self.availability_zones if not z.startswith(self.region)]
        if outside or len(set(self.availability_zones)) != 3:
            raise ValueError(
                f"availability_zones {list(self.availability_zones)} must be three distinct "
                f"zones of region {self.region} (e.g. {self.region}a, {self.region}b, "
                f"{self.region}c)"
            )
        if self.public_access_cidrs and not self.endpoint_public_access:
            raise ValueError(
                "public_access_cidrs is set but endpoint_public_access is false: set "
                "endpoint_public_access to true to open the public endpoint to those CIDRs, "
                "or remove public_access_cidrs"
            )
        return self


DEFAULT_STORAGE_CLASS = "gp3"
