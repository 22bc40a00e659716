"""The VPC an EKS cluster lives in: three zones, private subnets for nodes and pods, public
subnets for load balancers, and NAT for egress.

Subnets are carved deterministically from the VPC range: the first three quarters are the
private subnets (one per zone, where nodes and pods take their addresses through the VPC
CNI), the last quarter holds three public subnets. Subnets carry the tags the AWS Load
Balancer Controller and the in-tree service controller use to place internet-facing
(`kubernetes.io/role/elb`) and internal (`kubernetes.io/role/internal-elb`) load balancers.
Egress leaves through one NAT gateway (`single`, cheaper) or one per zone (`per-zone`, so a
zone outage does not cut the others' egress).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from clouds.aws.context import AwsContext
from targets.eks.args import EksClusterArgs


@dataclass(frozen=True)
class SubnetPlan:
    """The address ranges of one zone's private and public subnet."""

    zone: str
    private_cidr: str
    public_cidr: str


def plan_subnets(vpc_cidr: str, zones: tuple[str, ...]) -> list[SubnetPlan]:
    """Private subnets take a quarter of the VPC each; the last quarter is split in four
    for the public subnets (load balancers need few addresses)."""
    quarters = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))
    return [
        SubnetPlan(zone, str(quarters[index]), str(public[index]))
        for index, zone in enumerate(zones)
    ]


class Network(pulumi.ComponentResource):
    """A VPC across three zones with private and public subnets and NAT egress."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: EksClusterArgs,
        *,
        aws_context: AwsContext,
        cluster_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:Network", name, None, opts)
        self._prefix = name
        self._context = aws_context
        vpc = aws.ec2.Vpc(
            name,
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,  # EKS nodes register by their private DNS names
            enable_dns_support=True,
            tags={"Name": name},
            opts=self._options(),
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=self._options()
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={"Name": f"{name}-public"},
            opts=self._options(),
        )
        # The cluster tag marks subnets the cluster's load balancers may use.
        cluster_tag = {f"kubernetes.io/cluster/{cluster_name}": "shared"}
        plans = plan_subnets(args.vpc_cidr, args.availability_zones)
        public_subnets = [
            self._subnet(
                vpc,
                plan.zone,
                plan.public_cidr,
                tier="public",
                tags={**cluster_tag, "kubernetes.io/role/elb": "1"},
                routes=public_routes,
            )
            for plan in plans
        ]
        nat_zones = plans if args.nat_gateways == "per-zone" else plans[:1]
        nat_gateways = [
            self._nat_gateway(plan.zone, public_subnets[index])
            for index, plan in enumerate(nat_zones)
        ]
        private_subnets = []
        for index, plan in enumerate(plans):
            nat = nat_gateways[index] if args.nat_gateways == "per-zone" else nat_gateways[0]
            routes = aws.ec2.RouteTable(
                f"{name}-private-{plan.zone}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{name}-private-{plan.zone}"},
                opts=self._options(),
            )
            private_subnets.append(
                self._subnet(
                    vpc,
                    plan.zone,
                    plan.private_cidr,
                    tier="private",
                    tags={**cluster_tag, "kubernetes.io/role/internal-elb": "1"},
                    routes=routes,
                )
            )
        self.vpc_id = vpc.id
        self.private_subnet_ids = [subnet.id for subnet in private_subnets]
        self.public_subnet_ids = [subnet.id for subnet in public_subnets]
        self.register_outputs({"vpc_id": vpc.id})

    def _options(self, **options: object) -> pulumi.ResourceOptions:
        return self._context.options(self, **options)

    def _subnet(
        self,
        vpc: aws.ec2.Vpc,
        zone: str,
        cidr: str,
        *,
        tier: str,
        tags: dict[str, str],
        routes: aws.ec2.RouteTable,
    ) -> aws.ec2.Subnet:
        name = f"{self._prefix}-{tier}-{zone}"
        subnet = aws.ec2.Subnet(
            name,
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            # Public subnets hold load balancers and NAT gateways, never nodes.
            map_public_ip_on_launch=False,
            tags={"Name": name, **tags},
            opts=self._options(),
        )
        aws.ec2.RouteTableAssociation(
            name, subnet_id=subnet.id, route_table_id=routes.id, opts=self._options()
        )
        return subnet

    def _nat_gateway(self, zone: str, subnet: aws.ec2.Subnet) -> aws.ec2.NatGateway:
        name = f"{self._prefix}-nat-{zone}"
        address = aws.ec2.Eip(name, domain="vpc", tags={"Name": name}, opts=self._options())
        return aws.ec2.NatGateway(
            name,
            allocation_id=address.id,
            subnet_id=subnet.id,
            tags={"Name": name},
            opts=self._options(),
        )
