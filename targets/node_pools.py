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
from components.args import FrozenModel

# What only the eks target acts on: on an existing cluster the nodes exist already, so these
# would be accepted and do nothing.
EKS_ONLY_FIELDS = (
    "instance_types",
    "desired_size",
    "capacity",
    "labels",
    "node_image",
    "disk_size_gib",
    "local_nvme_scratch",
    "gpus_per_node",
)


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
            "types must all carry the same number of GPUs. EKS only, like capacity, labels, "
            "node_image, disk_size_gib, local_nvme_scratch, gpus_per_node and desired_size: "
            "on an existing cluster the nodes exist already and these are refused."
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
        100, ge=20, le=16384, description="Encrypted gp3 root (Bottlerocket: data) volume size."
    )
    local_nvme_scratch: bool = Field(
        False,
        description=(
            "GPU pools on EKS: put the instance-store NVMe disks (RAID 0) under kubelet and "
            "containerd, so emptyDir scratch and image layers use them."
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
    """The EKS-only settings of `pools` on an existing cluster, with the fix; or None."""
    for name, pool in sorted(pools.items()):
        eks_only = [field for field in EKS_ONLY_FIELDS if field in pool.model_fields_set]
        if eks_only:
            return (
                f"node_pools.{name}.{eks_only[0]} is set but cluster.target is existing: "
                "Plinth creates no nodes there and only accelerator, min_size and max_size "
                f"describe a pool; remove {', '.join(eks_only)}"
            )
    return None
