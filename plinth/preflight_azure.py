"""`plinth preflight ENV` for aks environments: read-only checks that the environment fits
its Azure subscription and region, run before `pulumi up` so a deploy does not fail
half-way through.

It checks, with azure-identity's default credential:

1. every node pool's VM size is offered in the region and in each of the cluster's zones,
   to this subscription (Resource SKUs API: `locationInfo` zones, less the `restrictions`
   of type Location or Zone, e.g. NotAvailableForSubscription), and runs as spot where the
   pool is spot (its `LowPriorityCapable` capability);
2. AKS offers the cluster's Kubernetes version in the region, not only in preview;
3. the vCPU quotas cover every pool at max_size (Compute usages API): for each VM family,
   limit - current usage >= the sum over its on-demand pools of max_size x vCPUs, the
   regional total vCPUs (`cores`) likewise for all on-demand pools, and the regional
   spot / low-priority vCPUs (`lowPriorityCores`) for the spot pools. vCPUs and families
   come from the Resource SKUs API (`capabilities` vCPUs, `family`), the authority on
   both. Usage includes the nodes already running: preflight of a deployed environment
   counts its own nodes twice, and is meant for the first deploy or a grown max_size.

Nothing is created or changed. Azure RBAC actions it needs (all read-only; the Reader
role has them):
    Microsoft.Compute/skus/read
    Microsoft.Compute/locations/usages/read
    Microsoft.ContainerService/locations/kubernetesVersions/read
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from plinth.azure_session import RestClient, default_credential, explained_errors
from plinth.cloud_report import Check, PoolDemand, passed, preflight_report, version_key
from stacks.config import ConfigError

if TYPE_CHECKING:
    from plinth.environments import Environment
    from stacks.config import PlatformConfig

COMMAND = "plinth preflight"
# compute/.../Microsoft.Compute/Skus/stable/2021-07-01/skus.json
SKUS_API = "2021-07-01"
# compute/.../Microsoft.Compute/ComputeRP/stable/2024-11-01/ComputeRP.json
USAGES_API = "2024-11-01"
# containerservice/.../Microsoft.ContainerService/aks/stable/2025-07-01/managedClusters.json
AKS_API = "2025-07-01"
ACTIONS = {
    "Microsoft.Compute/skus/read": "VM sizes offered",
    "Microsoft.Compute/locations/usages/read": "vCPU quotas",
    "Microsoft.ContainerService/locations/kubernetesVersions/read": "Kubernetes versions",
}
# Compute usage names of the regional quotas (the family quotas are named by the family).
REGIONAL_VCPUS = "cores"
SPOT_VCPUS = "lowPriorityCores"
Capacity = Literal["on-demand", "spot"]


@dataclass(frozen=True)
class AksPool:
    """What preflight needs of one node pool."""

    vm_size: str
    max_size: int
    capacity: Capacity


@dataclass(frozen=True)
class AksPreflightInput:
    """What preflight needs of an aks environment."""

    subscription_id: str
    location: str
    zones: tuple[str, ...]
    kubernetes_version: str
    pools: Mapping[str, AksPool]


class AksClusterSettings(Protocol):
    """The fields of `plinth:cluster` (target aks) preflight reads."""

    @property
    def subscription_id(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def availability_zones(self) -> Sequence[str]: ...
    @property
    def kubernetes_version(self) -> str: ...


class AksNodePoolSettings(Protocol):
    """The fields of a `plinth:node_pools` entry on aks preflight reads."""

    @property
    def vm_size(self) -> str | None: ...
    @property
    def max_size(self) -> int: ...
    @property
    def capacity(self) -> Capacity: ...


def aks_preflight_input(
    cluster: AksClusterSettings, pools: Mapping[str, AksNodePoolSettings]
) -> AksPreflightInput:
    """The preflight input of an aks cluster and its node pools."""
    without_size = sorted(name for name, pool in pools.items() if not pool.vm_size)
    if without_size:
        raise ConfigError(
            f"plinth:node_pools.{without_size[0]}.vm_size is missing; an aks pool needs its "
            "VM size, e.g. Standard_D4ds_v5"
        )
    return AksPreflightInput(
        subscription_id=cluster.subscription_id,
        location=cluster.location,
        zones=tuple(cluster.availability_zones),
        kubernetes_version=cluster.kubernetes_version,
        pools={
            name: AksPool(str(pool.vm_size), pool.max_size, pool.capacity)
            for name, pool in sorted(pools.items())
        },
    )


def aks_input_of(platform: PlatformConfig, source: str) -> AksPreflightInput:
    """The preflight input of a loaded environment; ConfigError when it is not aks."""
    target: str = platform.cluster.target
    if target != "aks":
        raise ConfigError(
            f"{source}: plinth:cluster.target is {target!r}; the Azure preflight checks aks "
            "environments only: run it on an environment with target: aks"
        )
    return aks_preflight_input(
        cast("AksClusterSettings", platform.cluster),
        cast("Mapping[str, AksNodePoolSettings]", platform.node_pools),
    )


@dataclass(frozen=True)
class VmSku:
    """A VM size as the Resource SKUs API describes it in one region."""

    name: str
    family: str
    vcpus: int
    zones: frozenset[str]
    restricted_zones: frozenset[str]
    region_restriction: str | None
    """The reason code when the size is not available in the region at all."""
    spot_capable: bool
    """Whether it runs as spot (low-priority) capacity: its `LowPriorityCapable`."""


def vm_skus(arm: RestClient, inputs: AksPreflightInput) -> dict[str, VmSku]:
    """Every VM size offered in the region, by lower-case name."""
    path = f"/subscriptions/{inputs.subscription_id}/providers/Microsoft.Compute/skus"
    query = {"$filter": f"location eq '{inputs.location}'"}
    found: dict[str, VmSku] = {}
    for sku in arm.pages(path, SKUS_API, "Microsoft.Compute/skus/read", query=query):
        if sku.get("resourceType") == "virtualMachines":
            parsed = _vm_sku(sku, inputs.location)
            if parsed is not None:
                found[parsed.name.lower()] = parsed
    return found


def _vm_sku(sku: Mapping[str, Any], location: str) -> VmSku | None:
    """A ResourceSku of the region as a VmSku; None when it lists another region only."""
    infos = [i for i in _dicts(sku.get("locationInfo")) if _same(i.get("location"), location)]
    if not infos:
        return None
    capabilities = {
        str(c.get("name")): str(c.get("value")) for c in _dicts(sku.get("capabilities"))
    }
    region_restriction = None
    restricted_zones: set[str] = set()
    for restriction in _dicts(sku.get("restrictions")):
        info = restriction.get("restrictionInfo")
        info = info if isinstance(info, dict) else {}
        reason = str(restriction.get("reasonCode", "restricted"))
        if restriction.get("type") == "Location":
            region_restriction = reason
        elif restriction.get("type") == "Zone":
            restricted_zones |= {str(zone) for zone in info.get("zones", [])}
    return VmSku(
        name=str(sku.get("name")),
        family=str(sku.get("family", "")),
        vcpus=int(capabilities.get("vCPUs", "0")),
        zones=frozenset(str(zone) for info in infos for zone in info.get("zones", [])),
        restricted_zones=frozenset(restricted_zones),
        region_restriction=region_restriction,
        spot_capable=capabilities.get("LowPriorityCapable", "True").lower() == "true",
    )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _same(name: object, location: str) -> bool:
    return isinstance(name, str) and name.lower() == location.lower()


def offering_checks(inputs: AksPreflightInput, skus: Mapping[str, VmSku]) -> list[Check]:
    """One check per pool: its VM size is offered to the subscription in the region and in
    every zone of the cluster."""
    checks = []
    for name, pool in sorted(inputs.pools.items()):
        check_name = f"vm size, pool {name}"
        sku = skus.get(pool.vm_size.lower())
        fix = f"choose another plinth:node_pools.{name}.vm_size"
        if sku is None:
            checks.append(
                Check(
                    "FAIL", check_name, f"{pool.vm_size} is not offered in {inputs.location}; {fix}"
                )
            )
        elif sku.region_restriction:
            checks.append(
                Check(
                    "FAIL",
                    check_name,
                    f"{pool.vm_size} is not available to subscription {inputs.subscription_id} "
                    f"in {inputs.location} ({sku.region_restriction}): request access in a "
                    f"support request (quota type: VM size), or {fix}",
                )
            )
        elif pool.capacity == "spot" and not sku.spot_capable:
            checks.append(
                Check(
                    "FAIL",
                    check_name,
                    f"{pool.vm_size} does not run as spot capacity (LowPriorityCapable False): "
                    f"set plinth:node_pools.{name}.capacity to on-demand, or {fix}",
                )
            )
        else:
            checks.append(_zone_check(check_name, pool, sku, inputs, fix))
    return checks


def _zone_check(
    check_name: str, pool: AksPool, sku: VmSku, inputs: AksPreflightInput, fix: str
) -> Check:
    usable = sku.zones - sku.restricted_zones
    missing = [zone for zone in inputs.zones if zone not in usable]
    if not missing:
        where = f"zones {', '.join(inputs.zones)}" if inputs.zones else "the region"
        return Check("ok", check_name, f"{pool.vm_size} offered in {inputs.location}, {where}")
    restricted = [zone for zone in missing if zone in sku.restricted_zones]
    why = f" (restricted for this subscription in {', '.join(restricted)})" if restricted else ""
    return Check(
        "FAIL",
        check_name,
        f"{pool.vm_size} is not offered in zone {', '.join(missing)} of {inputs.location}"
        f"{why}; it is in {', '.join(sorted(usable)) or 'no zone'}: set "
        f"plinth:cluster.availability_zones to zones that offer it, or {fix}",
    )


def kubernetes_version_check(arm: RestClient, inputs: AksPreflightInput) -> Check:
    """AKS offers the cluster's Kubernetes version (minor, or minor.patch) in the region,
    generally available."""
    path = (
        f"/subscriptions/{inputs.subscription_id}/providers/Microsoft.ContainerService/"
        f"locations/{inputs.location}/kubernetesVersions"
    )
    action = "Microsoft.ContainerService/locations/kubernetesVersions/read"
    listed = arm.call("GET", path, AKS_API, action).get("values", [])
    wanted = inputs.kubernetes_version
    minor = ".".join(wanted.split(".")[:2])
    name = f"kubernetes version {wanted}"
    entry = next((v for v in listed if v.get("version") == minor), None)
    if (
        entry is not None
        and len(wanted.split(".")) > 2
        and wanted not in entry.get("patchVersions", {})
    ):
        entry = None
    if entry is not None and not entry.get("isPreview"):
        plans = ", ".join(entry.get("capabilities", {}).get("supportPlan", []))
        return Check("ok", name, f"AKS offers it in {inputs.location} ({plans})")
    offered = sorted((v["version"] for v in listed if not v.get("isPreview")), key=version_key)
    why = "only in preview" if entry is not None else "not"
    return Check(
        "FAIL",
        name,
        f"AKS offers it {why} in {inputs.location}; generally available: "
        f"{', '.join(offered) or 'none'}; set plinth:cluster.kubernetes_version to one of them",
    )


def quota_demands(
    pools: Mapping[str, AksPool], skus: Mapping[str, VmSku]
) -> dict[str, list[PoolDemand]]:
    """Compute usage name -> the pools' demands on it. A pool whose size the region does
    not offer is left out: the VM size check already fails for it."""
    demands: dict[str, list[PoolDemand]] = {}
    for name, pool in sorted(pools.items()):
        sku = skus.get(pool.vm_size.lower())
        if sku is None:
            continue
        demand = PoolDemand(name, pool.max_size, sku.name, sku.vcpus)
        quotas = (SPOT_VCPUS,) if pool.capacity == "spot" else (sku.family, REGIONAL_VCPUS)
        for quota in quotas:
            demands.setdefault(quota.lower(), []).append(demand)
    return demands


def quota_checks(
    arm: RestClient, inputs: AksPreflightInput, skus: Mapping[str, VmSku]
) -> list[Check]:
    """One check per quota the pools draw on: what is free covers their demand."""
    demands = quota_demands(inputs.pools, skus)
    if not demands:
        return []
    path = (
        f"/subscriptions/{inputs.subscription_id}/providers/Microsoft.Compute/locations/"
        f"{inputs.location}/usages"
    )
    usages = {
        str(u["name"]["value"]).lower(): u
        for u in arm.pages(path, USAGES_API, "Microsoft.Compute/locations/usages/read")
    }
    checks = []
    for quota, pool_demands in sorted(demands.items()):
        needed = sum(d.vcpus for d in pool_demands)
        parts = ", ".join(d.shown() for d in pool_demands)
        usage = usages.get(quota)
        if usage is None:
            checks.append(
                Check(
                    "skip",
                    f"quota {quota}",
                    f"need {needed} vCPUs [{parts}]; Azure lists no such quota in "
                    f"{inputs.location}: check it under Quotas > Compute in the portal",
                )
            )
            continue
        checks.append(_quota_check(usage, needed, parts, inputs.location))
    return checks


def _quota_check(usage: Mapping[str, object], needed: int, parts: str, location: str) -> Check:
    names = usage["name"]
    assert isinstance(names, dict)  # noqa: S101 (the schema's shape, for the type checker)
    limit, current = int(str(usage["limit"])), int(str(usage["currentValue"]))
    free = limit - current
    name = f"quota {names['value']} ({names.get('localizedValue', '')})"
    numbers = f"need {needed} vCPUs [{parts}], {free} free ({current} of {limit} in use)"
    if needed <= free:
        return Check("ok", name, numbers)
    return Check(
        "FAIL",
        name,
        f"{numbers}; request an increase to {current + needed} (Quotas > Compute, "
        f"{location}) or lower the pools' max_size",
    )


def preflight_aks(inputs: AksPreflightInput, arm: RestClient | None = None) -> list[Check]:
    """Every check for one aks environment, in a fixed order; `arm` defaults to Resource
    Manager with azure-identity's default credential."""
    client = arm or RestClient(default_credential())
    with explained_errors(COMMAND, ACTIONS):
        skus = vm_skus(client, inputs)
        checks = offering_checks(inputs, skus)
        checks.append(kubernetes_version_check(client, inputs))
        checks += quota_checks(client, inputs, skus)
    return checks


def report(environment: str, inputs: AksPreflightInput, checks: list[Check]) -> str:
    """The lines `plinth preflight` prints for an aks environment."""
    zones = f"zones {', '.join(inputs.zones)}" if inputs.zones else "no zones"
    header = (
        f"{COMMAND} {environment}: aks in {inputs.location} ({zones}), Kubernetes "
        f"{inputs.kubernetes_version}, subscription {inputs.subscription_id}"
    )
    return preflight_report(header, checks)


def preflight_aks_environment(
    environment: Environment, arm: RestClient | None = None
) -> tuple[str, bool]:
    """(report, whether every check passed) for a loaded aks environment."""
    inputs = aks_input_of(environment.platform, f"environments/{environment.path.name}")
    checks = preflight_aks(inputs, arm)
    return report(environment.name, inputs, checks), passed(checks)
