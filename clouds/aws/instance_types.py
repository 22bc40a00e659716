"""What Plinth must know offline about EC2 instance types: GPUs per node, CPU architecture,
and whether local NVMe instance storage comes with it.

Cluster-autoscaler scales a pool up from zero only if it can predict a new node's GPUs
from the pool's tags, and a node group's AMI must match the CPU architecture; neither can
be looked up during a preview without credentials. Figures are from the AWS
"Accelerated computing instances" specifications; `plinth preflight` checks the types
against the live EC2 API before a deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Architecture = Literal["x86_64", "arm64"]

# Graviton families carry a `g` after the generation digit (m7g, c6gn, g5g, r8gd).
_GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*$")


@dataclass(frozen=True)
class GpuInstanceFamily:
    """NVIDIA GPUs per size of one instance family, and whether it has NVMe instance store."""

    gpus_by_size: dict[str, int]
    local_nvme: bool


_ONE_TO_SIXTEEN = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
NVIDIA_FAMILIES: dict[str, GpuInstanceFamily] = {
    "g4dn": GpuInstanceFamily({**_ONE_TO_SIXTEEN, "12xlarge": 4, "metal": 8}, local_nvme=True),
    "g5": GpuInstanceFamily({**_ONE_TO_SIXTEEN, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}, True),
    "g5g": GpuInstanceFamily(
        {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 2, "metal": 2}, False
    ),
    "g6": GpuInstanceFamily({**_ONE_TO_SIXTEEN, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}, True),
    "gr6": GpuInstanceFamily({"4xlarge": 1, "8xlarge": 1}, local_nvme=True),
    "g6e": GpuInstanceFamily(
        {**_ONE_TO_SIXTEEN, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}, local_nvme=True
    ),
    "p3": GpuInstanceFamily({"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}, local_nvme=False),
    "p3dn": GpuInstanceFamily({"24xlarge": 8}, local_nvme=True),
    "p4d": GpuInstanceFamily({"24xlarge": 8}, local_nvme=True),
    "p4de": GpuInstanceFamily({"24xlarge": 8}, local_nvme=True),
    "p5": GpuInstanceFamily({"4xlarge": 1, "48xlarge": 8}, local_nvme=True),
    "p5e": GpuInstanceFamily({"48xlarge": 8}, local_nvme=True),
    "p5en": GpuInstanceFamily({"48xlarge": 8}, local_nvme=True),
}

INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"


def split_instance_type(instance_type: str) -> tuple[str, str]:
    """(family, size) of an instance type such as `g5.xlarge`."""
    family, _, size = instance_type.partition(".")
    return family, size


def architecture(instance_type: str) -> Architecture:
    """The CPU architecture of an instance type: Graviton families are arm64."""
    family, _ = split_instance_type(instance_type)
    return "arm64" if _GRAVITON_FAMILY.match(family) else "x86_64"


def nvidia_gpus(instance_type: str) -> int | None:
    """NVIDIA GPUs per node of `instance_type`; None when it is not a known GPU type."""
    family, size = split_instance_type(instance_type)
    known = NVIDIA_FAMILIES.get(family)
    return None if known is None else known.gpus_by_size.get(size)


def has_local_nvme(instance_type: str) -> bool:
    """Whether a known GPU instance type comes with NVMe instance storage."""
    family, _ = split_instance_type(instance_type)
    known = NVIDIA_FAMILIES.get(family)
    return known is not None and known.local_nvme
