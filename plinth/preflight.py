"""`plinth preflight ENV`: read-only checks that an eks environment fits its AWS account
and region, run before `pulumi up` so a deploy does not fail half-way through.

It checks, with the credentials of the default chain:

1. every GPU pool's instance types are offered in each of the cluster's three zones (a
   managed node group spans all three subnets);
2. EKS offers the cluster's Kubernetes version in the region;
3. the account's EC2 vCPU quotas cover the GPU pools at their maximum size: for each quota,
   the sum over the pools it governs of max_size x the largest vCPU count among the pool's
   types (a pool whose types fall under two quotas counts against both, at its worst case).

Nothing is created or changed. IAM actions it needs (all read-only):
    ec2:DescribeInstanceTypeOfferings
    ec2:DescribeInstanceTypes
    eks:DescribeClusterVersions
    servicequotas:GetServiceQuota
    servicequotas:GetAWSDefaultServiceQuota
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import ClientError

from clouds.aws.instance_types import split_instance_type
from plinth.aws_session import Client, connect, error_code, explained_errors
from plinth.cloud_report import Check, PoolDemand, passed, preflight_report, version_key
from plinth.environments import Environment
from stacks.config import ConfigError, PlatformConfig
from targets.eks.args import EksClusterArgs
from targets.node_pools import NodePool

COMMAND = "plinth preflight"

# API operation -> the IAM action that allows it.
IAM_ACTIONS = {
    "DescribeInstanceTypeOfferings": "ec2:DescribeInstanceTypeOfferings",
    "DescribeInstanceTypes": "ec2:DescribeInstanceTypes",
    "DescribeClusterVersions": "eks:DescribeClusterVersions",
    "GetServiceQuota": "servicequotas:GetServiceQuota",
    "GetAWSDefaultServiceQuota": "servicequotas:GetAWSDefaultServiceQuota",
}
SUPPORTED_VERSION_STATUSES = ("STANDARD_SUPPORT", "EXTENDED_SUPPORT")


@dataclass(frozen=True, order=True)
class VcpuQuota:
    """An EC2 quota, in vCPUs, of the Service Quotas service code `ec2`."""

    code: str
    name: str


# Codes from the "Amazon EC2 instance type quotas" page of the Amazon EC2 documentation
# (On-Demand and Spot Instance quota tables, each name linking to its Service Quotas code);
# the Spot names match "Spot Instance quotas" in the Amazon EC2 User Guide
# (docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html).
ON_DEMAND_G_VT = VcpuQuota("L-DB2E81BA", "Running On-Demand G and VT instances")
ON_DEMAND_P = VcpuQuota("L-417A185B", "Running On-Demand P instances")
SPOT_G_VT = VcpuQuota("L-3819A6DF", "All G and VT Spot Instance Requests")
SPOT_P2_P3_P4 = VcpuQuota("L-7212CCBC", "All P4, P3 and P2 Spot Instance Requests")
SPOT_P5 = VcpuQuota("L-C4BD4855", "All P5 Spot Instance Requests")


@dataclass(frozen=True)
class PreflightClients:
    """The three AWS clients preflight reads from."""

    ec2: Client
    eks: Client
    service_quotas: Client

    @classmethod
    def connect(cls, region: str) -> PreflightClients:
        """Clients for `region` from the default credential chain."""
        session = connect(region)
        return cls(
            ec2=session.client("ec2"),
            eks=session.client("eks"),
            service_quotas=session.client("service-quotas"),
        )


def eks_cluster(platform: PlatformConfig, source: str) -> EksClusterArgs:
    """The environment's EKS cluster; ConfigError when it targets something else."""
    cluster = platform.cluster
    if not isinstance(cluster, EksClusterArgs):
        raise ConfigError(
            f"{source}: plinth:cluster.target is {cluster.target!r}; preflight checks a "
            "cloud account for the eks and aks targets: run it on an environment with one of them"
        )
    return cluster


def preflight(
    platform: PlatformConfig, *, source: str, clients: PreflightClients | None = None
) -> list[Check]:
    """Every check for one environment, in a fixed order; `clients` defaults to the
    default credential chain in the cluster's region."""
    cluster = eks_cluster(platform, source)
    gpu_pools = platform.gpu_pools
    aws = clients or PreflightClients.connect(cluster.region)
    with explained_errors(COMMAND, IAM_ACTIONS):
        checks = offering_checks(aws.ec2, gpu_pools, cluster.availability_zones)
        checks.append(kubernetes_version_check(aws.eks, cluster))
        checks += quota_checks(aws.ec2, aws.service_quotas, gpu_pools)
    return checks


def offering_checks(
    ec2: Client, gpu_pools: Mapping[str, NodePool], zones: tuple[str, ...]
) -> list[Check]:
    """One check per GPU pool: each of its types is offered in each zone."""
    types = sorted({t for pool in gpu_pools.values() for t in pool.instance_types})
    if not types:
        return [Check("ok", "instance offerings", "no GPU pools to check")]
    offered: set[tuple[str, str]] = set()
    pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone",
        Filters=[
            {"Name": "instance-type", "Values": types},
            {"Name": "location", "Values": list(zones)},
        ],
    )
    for page in pages:
        offered |= {(o["InstanceType"], o["Location"]) for o in page["InstanceTypeOfferings"]}
    checks = []
    for name, pool in gpu_pools.items():
        wanted = [(t, z) for t in sorted(pool.instance_types) for z in zones]
        missing = [pair for pair in wanted if pair not in offered]
        check_name = f"instance offerings, pool {name}"
        if missing:
            pairs = ", ".join(f"{t} in {z}" for t, z in missing)
            checks.append(
                Check(
                    "FAIL",
                    check_name,
                    f"not offered: {pairs}; choose zones that offer every type "
                    "(plinth:cluster.availability_zones) or other instance types",
                )
            )
        else:
            placed = f"{', '.join(sorted(pool.instance_types))} in {', '.join(zones)}"
            checks.append(Check("ok", check_name, f"offered: {placed}"))
    return checks


def kubernetes_version_check(eks: Client, cluster: EksClusterArgs) -> Check:
    """EKS offers the cluster's Kubernetes version in its region, in standard or extended
    support."""
    version = cluster.kubernetes_version
    statuses: dict[str, str] = {}
    for page in eks.get_paginator("describe_cluster_versions").paginate(includeAll=True):
        for entry in page.get("clusterVersions", []):
            listed, status = entry.get("clusterVersion"), entry.get("versionStatus")
            # A version listed twice (per cluster type) counts as offered if either entry is.
            if listed and status and statuses.get(listed) not in SUPPORTED_VERSION_STATUSES:
                statuses[listed] = status
    name = f"kubernetes version {version}"
    status = statuses.get(version)
    if status in SUPPORTED_VERSION_STATUSES:
        return Check("ok", name, f"EKS offers it in {cluster.region} ({status})")
    offered = sorted(
        (v for v, s in statuses.items() if s in SUPPORTED_VERSION_STATUSES), key=version_key
    )
    why = f"EKS lists it as {status}" if status else "EKS does not offer it"
    return Check(
        "FAIL",
        name,
        f"{why} in {cluster.region}; offered: {', '.join(offered) or 'none'}; "
        "set plinth:cluster.kubernetes_version to one of them",
    )


def governing_quota(instance_type: str, capacity: Literal["on-demand", "spot"]) -> VcpuQuota | None:
    """The vCPU quota a GPU instance type draws on, or None when Plinth does not know it."""
    family, _ = split_instance_type(instance_type)
    parts = re.match(r"([a-z]+)(\d*)", family)
    letters, generation = (parts.group(1), parts.group(2)) if parts else ("", "")
    if letters.startswith("g") or letters == "vt":
        return ON_DEMAND_G_VT if capacity == "on-demand" else SPOT_G_VT
    if letters != "p":
        return None
    if capacity == "on-demand":
        return ON_DEMAND_P
    if generation in ("2", "3", "4"):
        return SPOT_P2_P3_P4
    return SPOT_P5 if generation == "5" else None


def quota_demands(
    gpu_pools: Mapping[str, NodePool], vcpus: Mapping[str, int]
) -> tuple[dict[VcpuQuota, list[PoolDemand]], list[str]]:
    """(quota -> the pools' demands on it, types whose quota Plinth does not know).

    Types missing from `vcpus` (unknown to EC2 in the region) are left out: the offerings
    check already fails for them.
    """
    demands: dict[VcpuQuota, list[PoolDemand]] = {}
    unknown: set[str] = set()
    for name, pool in gpu_pools.items():
        largest: dict[VcpuQuota, tuple[int, str]] = {}
        for instance_type in pool.instance_types:
            quota = governing_quota(instance_type, pool.capacity)
            if quota is None:
                unknown.add(f"{instance_type} ({pool.capacity})")
            elif instance_type in vcpus:
                candidate = (vcpus[instance_type], instance_type)
                largest[quota] = max(largest.get(quota, candidate), candidate)
        for quota, (per_node, instance_type) in largest.items():
            demands.setdefault(quota, []).append(
                PoolDemand(name, pool.max_size, instance_type, per_node)
            )
    return dict(sorted(demands.items())), sorted(unknown)


def quota_checks(
    ec2: Client, service_quotas: Client, gpu_pools: Mapping[str, NodePool]
) -> list[Check]:
    """One check per vCPU quota the GPU pools draw on: its value covers their demand."""
    types = sorted({t for pool in gpu_pools.values() for t in pool.instance_types})
    if not types:
        return [Check("ok", "vCPU quotas", "no GPU pools to check")]
    demands, unknown = quota_demands(gpu_pools, instance_vcpus(ec2, types))
    checks = []
    for quota, pool_demands in demands.items():
        needed = sum(d.vcpus for d in pool_demands)
        value, source = quota_value(service_quotas, quota)
        parts = ", ".join(d.shown() for d in pool_demands)
        numbers = f"need {needed} vCPUs [{parts}], have {value:g} ({source})"
        name = f"quota {quota.code} {quota.name}"
        if needed <= value:
            checks.append(Check("ok", name, numbers))
        else:
            checks.append(
                Check(
                    "FAIL",
                    name,
                    f"{numbers}; request an increase to {needed} in Service Quotas "
                    "(service ec2) or lower the pools' max_size",
                )
            )
    if unknown:
        checks.append(
            Check(
                "skip",
                "vCPU quotas",
                f"Plinth does not know which quota governs {', '.join(unknown)}: check it in "
                "the Service Quotas console",
            )
        )
    return checks


def instance_vcpus(ec2: Client, types: list[str]) -> dict[str, int]:
    """Default vCPUs of each type EC2 knows in the region (unknown types are left out)."""
    vcpus: dict[str, int] = {}
    pages = ec2.get_paginator("describe_instance_types").paginate(
        Filters=[{"Name": "instance-type", "Values": types}]
    )
    for page in pages:
        for info in page["InstanceTypes"]:
            vcpus[info["InstanceType"]] = int(info["VCpuInfo"]["DefaultVCpus"])
    return vcpus


def quota_value(service_quotas: Client, quota: VcpuQuota) -> tuple[float, str]:
    """(value, 'applied' or 'AWS default') of an EC2 quota.

    GetServiceQuota returns the value applied to the account; for a quota never changed it
    may have none (NoSuchResourceException), and the AWS default is what applies.
    """
    try:
        applied = service_quotas.get_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
    except ClientError as error:
        if error_code(error) != "NoSuchResourceException":
            raise
    else:
        return float(applied["Quota"]["Value"]), "applied"
    default = service_quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
    return float(default["Quota"]["Value"]), "AWS default"


def report(environment: str, cluster: EksClusterArgs, checks: list[Check]) -> str:
    """The lines `plinth preflight` prints: a header, one line per check, a summary."""
    header = (
        f"{COMMAND} {environment}: eks in {cluster.region} "
        f"({', '.join(cluster.availability_zones)}), Kubernetes {cluster.kubernetes_version}"
    )
    return preflight_report(header, checks)


def preflight_environment(
    environment: Environment, clients: PreflightClients | None = None
) -> tuple[str, bool]:
    """(report, whether every check passed) for a loaded environment."""
    source = f"environments/{environment.path.name}"
    cluster = eks_cluster(environment.platform, source)
    checks = preflight(environment.platform, source=source, clients=clients)
    return report(environment.name, cluster, checks), passed(checks)
