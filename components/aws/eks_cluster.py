"""An EKS cluster: control plane, secrets encryption, logs, OIDC issuer, access entries and
managed add-ons, in the VPC of `components.aws.network`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.args import FrozenModel

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
            "default). Only with endpoint_public_access true."
        ),
    )
    log_types: tuple[LogType, ...] = Field(
        ALL_LOG_TYPES, description="Control-plane logs sent to CloudWatch Logs."
    )
    cluster_admins: tuple[str, ...] = Field(
        (),
        description=(
            "IAM role or user ARNs given cluster-admin through EKS access entries (the "
            "identity running `pulumi up` always is)."
        ),
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_size(cls, value: str) -> str:
        network = ipaddress.IPv4Network(value, strict=True)
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(f"vpc_cidr {value} is a /{network.prefixlen}; use a /16 to /20")
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.IPv4Network(cidr, strict=True)
        return value

    @field_validator("cluster_admins")
    @classmethod
    def _admins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
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
