"""Node pools: groups of identical nodes keyed by a stable name (`plinth:node_pools`).

A pool with `accelerator: nvidia` is a GPU pool. On the `existing` target a pool states
what the cluster already has (`existing_node_pool_problem` refuses the machine settings
only EKS acts on); on EKS each pool is a managed node group Plinth creates
(`targets/eks/node_pool.py`), and `eks_node_pool_problem` says what would make the
pools unbuildable there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from clouds.aws.instance_types import INSTANCE_TYPE, architecture, has_local_nvme, nvidia_gpus
from clouds.azure import vm_sizes
from components.args import FrozenModel

# What only a cloud target (eks, aks) acts on: on an existing cluster the nodes exist
# already, so these would be accepted and do nothing.
CLOUD_FIELDS = (
    "desired_size",
    "capacity",
    "labels",
    "disk_size_gib",
    "local_nvme_scratch",
    "gpus_per_node",
)
# What only one cloud acts on: the other would accept it and do nothing.
EKS_ONLY_FIELDS = ("instance_types", "node_image")
AKS_ONLY_FIELDS = (
    "vm_size",
    "spot_max_price",
    "spot_eviction_policy",
    "os_disk_type",
    "gpu_driver",
)
# The pool AKS keeps inline in the cluster (its System mode pool, which runs CoreDNS,
# metrics-server and konnectivity); every other pool is a User pool of its own.
AKS_SYSTEM_POOL = "system"
# AKS agent pool names (Linux): a lowercase letter, then lowercase letters and digits.
AKS_POOL_NAME = r"^[a-z][a-z0-9]{0,11}$"


class NodePool(FrozenModel):
    """A group of identical nodes. `accelerator: nvidia` makes it a GPU pool: its nodes
    carry the GPU taint and labels, so only pods that ask for GPUs land there.

    On `existing` clusters the pool is a statement of what the cluster has; on EKS it is a
    managed node group Plinth creates, and every field takes effect.
    """

    accelerator: Literal["none", "nvidia"] = Field(
        "none", description="'nvidia' for GPU nodes: tainted nvidia.com/gpu=true:NoSchedule."
    )
    instance_types: tuple[str, ...] = Field(
        (),
        description=(
            "EC2 instance types, most preferred first; required on EKS, where a GPU pool's "
            "types must all carry the same number of GPUs. EKS only, like node_image. "
            "capacity, labels, disk_size_gib, local_nvme_scratch, gpus_per_node and "
            "desired_size apply on EKS and AKS: on an existing cluster the nodes exist "
            "already and these are refused."
        ),
    )
    vm_size: str | None = Field(
        None,
        description=(
            "AKS only: the Azure VM size of the agent pool, e.g. Standard_D4ds_v5 or "
            "Standard_NC24ads_A100_v4 (one size per pool; required on AKS). Changing it "
            "replaces the pool."
        ),
    )
    min_size: int = Field(0, ge=0, description="0 lets the pool scale to zero when idle.")
    desired_size: int | None = Field(
        None,
        ge=0,
        description=(
            "Nodes at creation; unset starts at min_size. Afterwards the autoscaler owns it."
        ),
    )
    max_size: int = Field(1, ge=1, description="Upper bound the autoscaler may reach.")
    capacity: Literal["on-demand", "spot"] = Field(
        "on-demand", description="'spot' trades interruptions for price."
    )
    spot_max_price: float = Field(
        -1,
        description=(
            "AKS spot pools: the most to pay per VM-hour in US dollars; -1 (the default) "
            "pays up to the on-demand price and evicts only for capacity."
        ),
    )
    spot_eviction_policy: Literal["Delete", "Deallocate"] = Field(
        "Delete",
        description=(
            "AKS spot pools: 'Delete' removes evicted VMs (the autoscaler can replace "
            "them); 'Deallocate' stops them, their disks still billed and counted in quota."
        ),
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra node labels, on top of those Plinth derives."
    )
    node_image: Literal["al2023", "bottlerocket"] = Field(
        "al2023",
        description=(
            "EKS node OS: Amazon Linux 2023 or Bottlerocket; GPU pools get the NVIDIA "
            "variant, which ships the driver and container toolkit."
        ),
    )
    disk_size_gib: int = Field(
        100,
        ge=20,
        le=16384,
        description=(
            "EKS: the encrypted gp3 root (Bottlerocket: data) volume size. AKS: the OS disk "
            "size (an ephemeral OS disk must fit the VM's temp disk)."
        ),
    )
    os_disk_type: Literal["Managed", "Ephemeral"] = Field(
        "Managed",
        description=(
            "AKS only: 'Managed', an Azure managed disk; 'Ephemeral', the OS on the VM's "
            "local temp disk (faster, free, lost on reimage; disk_size_gib must fit it)."
        ),
    )
    local_nvme_scratch: bool = Field(
        False,
        description=(
            "GPU pools. EKS: put the instance-store NVMe disks (RAID 0) under kubelet and "
            "containerd, so emptyDir scratch and image layers use them. AKS: put kubelet's "
            "directory (emptyDir scratch, image layers) on the VM's local temp disk "
            "(kubeletDiskType Temporary); the size needs one."
        ),
    )
    gpu_driver: Literal["Install", "None"] | None = Field(
        None,
        description=(
            "AKS GPU pools: whether AKS installs the NVIDIA driver on the nodes "
            "(gpuProfile.driver). Unset derives it: 'None' when plinth:gpu runs the GPU "
            "operator with its driver (gpu.mode gpu-operator, gpu.driver_preinstalled false), "
            "else 'Install'."
        ),
    )
    gpus_per_node: int | None = Field(
        None,
        ge=1,
        description=(
            "GPUs per node, for scaling up from zero; unset derives it from the instance "
            "type (set it for a type Plinth does not know)."
        ),
    )

    @property
    def node_gpus(self) -> int:
        """GPUs each node carries: gpus_per_node, else from the first instance type, else 0."""
        if self.accelerator != "nvidia":
            return 0
        if self.gpus_per_node is not None:
            return self.gpus_per_node
        if self.vm_size is not None:
            return vm_sizes.nvidia_gpus(self.vm_size) or 1
        counts = [nvidia_gpus(t) for t in self.instance_types]
        return next((count for count in counts if count), 1)

    @model_validator(mode="after")
    def _sizes_in_order(self) -> NodePool:
        if self.min_size > self.max_size:
            raise ValueError(
                f"min_size {self.min_size} is above max_size {self.max_size}: "
                "lower min_size or raise max_size"
            )
        desired = self.desired_size
        if desired is not None and not self.min_size <= desired <= self.max_size:
            raise ValueError(
                f"desired_size {desired} is outside min_size {self.min_size} .. max_size "
                f"{self.max_size}: set it between them or leave it unset"
            )
        if self.local_nvme_scratch and self.accelerator != "nvidia":
            raise ValueError(
                "local_nvme_scratch is only for GPU pools (accelerator: nvidia): remove it "
                "or set accelerator to nvidia"
            )
        return self


def eks_node_pool_problem(pools: Mapping[str, NodePool]) -> str | None:
    """What makes `pools` unbuildable as EKS managed node groups, with the fix; or None."""
    refused = _refused_fields(pools, AKS_ONLY_FIELDS, "eks", "it is an AKS setting")
    if refused:
        return refused
    if not any(pool.accelerator == "none" for pool in pools.values()):
        return (
            "node_pools has no pool without accelerator: EKS needs one for system pods "
            "(CoreDNS, the autoscaler); add e.g. node_pools.system with instance_types [m7i.large]"
        )
    for name, pool in sorted(pools.items()):
        where = f"node_pools.{name}"
        if not pool.instance_types:
            return f"{where}.instance_types is empty: list the EC2 types, e.g. [g5.xlarge]"
        malformed = [t for t in pool.instance_types if not re.fullmatch(INSTANCE_TYPE, t)]
        if malformed:
            return f"{where}.instance_types {malformed} are not EC2 instance types (e.g. g5.xlarge)"
        architectures = sorted({architecture(t) for t in pool.instance_types})
        if len(architectures) > 1:
            return (
                f"{where}.instance_types {list(pool.instance_types)} mix "
                f"{' and '.join(architectures)}: one node group runs one AMI; split the pool"
            )
        if pool.accelerator != "nvidia":
            continue
        counts = {t: nvidia_gpus(t) for t in pool.instance_types}
        unknown = sorted(t for t, count in counts.items() if count is None)
        if unknown and pool.gpus_per_node is None:
            return (
                f"{where}.instance_types {unknown} are not NVIDIA GPU types Plinth knows: use "
                f"a GPU type (g5, g6, g6e, p4d, p5...) or set {where}.gpus_per_node"
            )
        if pool.gpus_per_node is None and len(set(counts.values())) > 1:
            return (
                f"{where}.instance_types {list(pool.instance_types)} carry different GPU "
                f"counts {counts}: the autoscaler assumes identical nodes; split the pool"
            )
        no_nvme = [t for t in pool.instance_types if not has_local_nvme(t)]
        if pool.local_nvme_scratch and no_nvme:
            return (
                f"{where}.local_nvme_scratch is true but {no_nvme} have no NVMe instance "
                "store: choose types with local NVMe (g5, g6, p4d, p5) or turn it off"
            )
    return None


def existing_node_pool_problem(pools: Mapping[str, NodePool]) -> str | None:
    """The cloud-only settings of `pools` on an existing cluster, with the fix; or None."""
    return _refused_fields(
        pools,
        (*EKS_ONLY_FIELDS, *CLOUD_FIELDS, *AKS_ONLY_FIELDS),
        "existing",
        "Plinth creates no nodes there and only accelerator, min_size and max_size describe a pool",
    )


def _refused_fields(
    pools: Mapping[str, NodePool], fields: tuple[str, ...], target: str, why: str
) -> str | None:
    for name, pool in sorted(pools.items()):
        refused = [field for field in fields if field in pool.model_fields_set]
        if refused:
            return (
                f"node_pools.{name}.{refused[0]} is set but cluster.target is {target}: "
                f"{why}; remove {', '.join(refused)}"
            )
    return None


def aks_node_pool_problem(
    pools: Mapping[str, NodePool], *, operator_installs_driver: bool
) -> str | None:
    """What makes `pools` unbuildable as AKS agent pools, with the fix; or None.

    `operator_installs_driver`: whether GPU enablement runs the GPU operator with its own
    NVIDIA driver, which must then be the only driver on the nodes.
    """
    refused = _refused_fields(pools, EKS_ONLY_FIELDS, "aks", "it is an EKS setting")
    if refused:
        return refused
    system = pools.get(AKS_SYSTEM_POOL)
    if system is None or system.accelerator != "none":
        return (
            f"node_pools has no {AKS_SYSTEM_POOL!r} pool without accelerator: AKS needs one "
            "System pool for CoreDNS and metrics-server; add node_pools.system with "
            "vm_size Standard_D4ds_v5 and min_size 2"
        )
    for name, pool in sorted(pools.items()):
        problem = _aks_pool_problem(
            f"node_pools.{name}", name, pool, operator_installs_driver=operator_installs_driver
        )
        if problem:
            return problem
    return None


def _aks_pool_problem(
    where: str, name: str, pool: NodePool, *, operator_installs_driver: bool
) -> str | None:
    if not re.fullmatch(AKS_POOL_NAME, name):
        return (
            f"{where}: AKS agent pool names are a lowercase letter then up to 11 lowercase "
            f"letters or digits, {name!r} is not: rename the pool (e.g. {_pool_name_hint(name)})"
        )
    if pool.vm_size is None:
        return f"{where}.vm_size is missing: set the Azure VM size, e.g. Standard_D4ds_v5"
    if not vm_sizes.is_vm_size(pool.vm_size):
        return f"{where}.vm_size {pool.vm_size!r} is not an Azure VM size (e.g. Standard_D4ds_v5)"
    size = vm_sizes.vm_size(pool.vm_size)
    spot = pool.capacity == "spot"
    if name == AKS_SYSTEM_POOL:
        if spot:
            return f"{where}.capacity is spot: the AKS System pool cannot be spot; remove it"
        if pool.min_size < 1:
            return f"{where}.min_size is 0: the AKS System pool needs a node; set it to 1 or more"
    if not spot and {"spot_max_price", "spot_eviction_policy"} & pool.model_fields_set:
        return (
            f"{where}.spot_max_price/spot_eviction_policy are set but capacity is on-demand: "
            "set capacity to spot or remove them"
        )
    if pool.spot_max_price != -1 and pool.spot_max_price <= 0:
        return f"{where}.spot_max_price is {pool.spot_max_price}: use -1 or a positive US$ price"
    temp_disk = None if size is None else size.temp_disk_gib
    if (
        pool.os_disk_type == "Ephemeral"
        and temp_disk is not None
        and (pool.disk_size_gib > temp_disk)
    ):
        return (
            f"{where}.disk_size_gib {pool.disk_size_gib} does not fit the {temp_disk} GiB temp "
            f"disk of {pool.vm_size} for an Ephemeral OS disk: lower disk_size_gib, or set "
            "os_disk_type to Managed"
        )
    if pool.local_nvme_scratch and temp_disk == 0:
        return (
            f"{where}.local_nvme_scratch is true but {pool.vm_size} has no local temp disk: "
            "choose a size with one (a 'd' size such as Standard_D8ds_v5) or turn it off"
        )
    return _aks_gpu_problem(where, pool, operator_installs_driver=operator_installs_driver)


def _aks_gpu_problem(where: str, pool: NodePool, *, operator_installs_driver: bool) -> str | None:
    gpus = vm_sizes.nvidia_gpus(pool.vm_size or "")
    if pool.accelerator != "nvidia":
        if gpus:
            return (
                f"{where}.vm_size {pool.vm_size} carries {gpus} NVIDIA GPU(s) but accelerator "
                "is none: set accelerator to nvidia, so the nodes get the GPU taint"
            )
        if pool.gpu_driver is not None:
            return f"{where}.gpu_driver is set on a pool without GPUs: remove it"
        return None
    if gpus is None and pool.gpus_per_node is None:
        return (
            f"{where}.vm_size {pool.vm_size} is not an NVIDIA GPU size Plinth knows: use one "
            f"(Standard_NC4as_T4_v3, Standard_NC24ads_A100_v4...) or set {where}.gpus_per_node"
        )
    if gpus == 0:
        return (
            f"{where}.vm_size {pool.vm_size} has no GPU but accelerator is nvidia: choose a "
            "GPU size (NC, ND) or set accelerator to none"
        )
    if pool.gpu_driver == "Install" and operator_installs_driver:
        return (
            f"{where}.gpu_driver is Install but plinth:gpu runs the GPU operator with its "
            "driver: two drivers cannot share a node; set gpu_driver to None or "
            "gpu.driver_preinstalled to true"
        )
    if pool.gpu_driver == "None" and not operator_installs_driver:
        return (
            f"{where}.gpu_driver is None but nothing else installs the NVIDIA driver: set "
            "gpu_driver to Install, or gpu.mode to gpu-operator with "
            "gpu.driver_preinstalled false"
        )
    return None


def _pool_name_hint(name: str) -> str:
    letters = re.sub(r"[^a-z0-9]", "", name.lower()).lstrip("0123456789")
    return (letters or "pool")[:12]
