"""What Plinth must know offline about Azure VM sizes: vCPUs, NVIDIA GPUs per VM, the quota
family the vCPUs count against, and the local disks that come with the VM.

An AKS node pool runs one VM size. Whether a pool is a GPU pool that fits the GPU taint,
how many GPUs a node brings, whether an ephemeral OS disk fits on the local temp disk and
whether scratch can go there cannot be looked up during a preview without credentials.
Figures are from Microsoft's "Sizes for virtual machines in Azure" pages (general purpose
Dv5/Ddv5/Edv5, GPU-accelerated NCasT4_v3, NC_A100_v4, NCads_H100_v5, NDasrA100_v4,
NDm_A100_v4, ND_H100_v5); the quota family is the Resource SKUs API's `family`.
`plinth preflight` checks the sizes against the live Azure APIs before a deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VM_SIZE = r"^Standard_[A-Za-z0-9_]+$"


@dataclass(frozen=True)
class VmSize:
    """One Azure VM size as an AKS node pool uses it."""

    vcpus: int
    nvidia_gpus: int
    quota_family: str
    """The vCPU quota family (`Microsoft.Compute/locations/usages` name), e.g.
    standardDDSv5Family."""
    temp_disk_gib: int
    """The local temp (resource) disk: 0 when the size has none (the `s` sizes without `d`)."""
    nvme_disk_gib: int = 0
    """Local NVMe disks besides the temp disk, in total."""


# General purpose: D*s_v5 (no temp disk), D*ds_v5 and E*ds_v5 (37.5 GiB temp disk per vCPU).
_GENERAL = {
    **{f"Standard_D{n}s_v5": VmSize(n, 0, "standardDSv5Family", 0) for n in (2, 4, 8, 16, 32)},
    **{
        f"Standard_D{n}ds_v5": VmSize(n, 0, "standardDDSv5Family", n * 75 // 2)
        for n in (2, 4, 8, 16, 32)
    },
    **{
        f"Standard_E{n}ds_v5": VmSize(n, 0, "standardEDSv5Family", n * 75 // 2)
        for n in (2, 4, 8, 16, 32)
    },
}

_GPU = {
    # NVIDIA T4 (16 GB): inference, small fine-tuning.
    "Standard_NC4as_T4_v3": VmSize(4, 1, "standardNCASv3_T4Family", 176),
    "Standard_NC8as_T4_v3": VmSize(8, 1, "standardNCASv3_T4Family", 352),
    "Standard_NC16as_T4_v3": VmSize(16, 1, "standardNCASv3_T4Family", 352),
    "Standard_NC64as_T4_v3": VmSize(64, 4, "standardNCASv3_T4Family", 2816),
    # NVIDIA A100 PCIe (80 GB), with one 960 GiB NVMe disk per GPU.
    "Standard_NC24ads_A100_v4": VmSize(24, 1, "standardNCADSA100v4Family", 64, 960),
    "Standard_NC48ads_A100_v4": VmSize(48, 2, "standardNCADSA100v4Family", 128, 1920),
    "Standard_NC96ads_A100_v4": VmSize(96, 4, "standardNCADSA100v4Family", 256, 3840),
    # NVIDIA H100 NVL (94 GB).
    "Standard_NC40ads_H100_v5": VmSize(40, 1, "standardNCadsH100v5Family", 128, 3576),
    "Standard_NC80adis_H100_v5": VmSize(80, 2, "standardNCadsH100v5Family", 256, 7152),
    # Eight NVIDIA A100 or H100 with InfiniBand: large training runs.
    "Standard_ND96asr_v4": VmSize(96, 8, "standardNDASv4_A100Family", 6000),
    "Standard_ND96amsr_A100_v4": VmSize(96, 8, "standardNDAMSv4_A100Family", 6400),
    "Standard_ND96isr_H100_v5": VmSize(96, 8, "standardNDSH100v5Family", 1000, 28_000),
}

VM_SIZES: dict[str, VmSize] = {**_GENERAL, **_GPU}


def vm_size(name: str) -> VmSize | None:
    """What Plinth knows of VM size `name`, or None for a size it does not list."""
    return VM_SIZES.get(name)


def nvidia_gpus(name: str) -> int | None:
    """NVIDIA GPUs per VM of size `name`; None when Plinth does not know the size."""
    size = vm_size(name)
    return None if size is None else size.nvidia_gpus


def is_vm_size(name: str) -> bool:
    """Whether `name` is written as an Azure VM size (`Standard_...`)."""
    return re.fullmatch(VM_SIZE, name) is not None
