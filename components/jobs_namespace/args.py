"""Settings of the jobs namespace (`plinth:jobs`): pydantic only, no cloud SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from components.args import DNS_LABEL, QUANTITY, ComponentArgs, FrozenModel, OwnNamespace
from components.pod_security import PodSecurityLevel


class JobsQuota(FrozenModel):
    """Upper bounds on what all jobs in the namespace may request together."""

    cpu: str = Field("32", pattern=QUANTITY, description="Sum of CPU requests and limits.")
    memory: str = Field("128Gi", pattern=QUANTITY, description="Sum of memory requests and limits.")
    gpus: int = Field(0, ge=0, description="Sum of nvidia.com/gpu requests; 0 forbids GPU jobs.")
    pods: int = Field(100, ge=1, description="Number of pods that may exist at once.")


# A StorageClass name is a DNS subdomain.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]


# Access modes that let pods on several nodes mount one volume.
MULTI_NODE_ACCESS_MODES = ("ReadWriteMany", "ReadOnlyMany")


# StorageClasses known to attach a volume to one node at a time (block devices, node-local
# directories): a multi-node claim on them stays Pending forever. Names, not provisioners:
# on an existing cluster only the name is known, so these are the common ones.
SINGLE_NODE_STORAGE_CLASSES = {
    "gp3": "EBS, the eks target's default",
    "gp2": "EBS, built into EKS",
    "io1": "EBS",
    "io2": "EBS",
    "st1": "EBS",
    "sc1": "EBS",
    "local-path": "node-local on k3s and k3d",
    "ceph-rbd": "Ceph RBD block volumes",
    "standard": "node-local on kind, a zonal disk on GKE",
}


class SharedVolume(FrozenModel):
    """A PersistentVolumeClaim in the jobs namespace that job pods mount to share data."""

    size_gib: int = Field(
        ge=1,
        description=(
            "Capacity requested, in GiB. Raising it expands the volume in place when the "
            "StorageClass allows volume expansion; Kubernetes refuses to shrink a claim."
        ),
    )
    access_mode: AccessMode = Field(
        "ReadWriteMany",
        description=(
            "How pods may mount it: ReadWriteMany lets pods on many nodes write (needs a "
            "file-system StorageClass such as CephFS, NFS or EFS; refused on classes known "
            "to offer only ReadWriteOnce: gp3, gp2, io1, io2, st1, sc1, local-path, "
            "ceph-rbd, standard); "
            "ReadWriteOnce is one node. Changing it replaces the volume and loses its data."
        ),
    )
    storage_class: str | None = Field(
        None,
        pattern=DNS_SUBDOMAIN,
        description=(
            "StorageClass that provisions it; unset uses plinth:cluster.default_storage_class. "
            "Changing it (or that default) replaces the volume and loses its data."
        ),
    )


class JobsNamespaceArgs(ComponentArgs):
    """Settings of the shared jobs namespace."""

    name: OwnNamespace = Field(
        "ml-jobs",
        pattern=DNS_LABEL,
        description=(
            "Namespace name; not a system namespace (kube-*, default) nor an operator's "
            "namespace, whose Pod Security level is not restricted."
        ),
    )
    pod_security: PodSecurityLevel = Field(
        "restricted",
        description="Pod Security Admission level enforced; 'restricted' is the safe default.",
    )
    quota: JobsQuota = Field(
        default_factory=JobsQuota, description="ResourceQuota of the namespace."
    )
    volumes: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], SharedVolume] = Field(
        default_factory=dict,
        description=(
            "Shared volumes keyed by claim name; renaming a key replaces the volume and "
            "loses its data. Protected from deletion in prod."
        ),
    )


def shared_volume_problem(
    volumes: Mapping[str, SharedVolume], default_storage_class: str
) -> str | None:
    """A multi-node volume on a single-node StorageClass, with the fix; or None."""
    for key, volume in sorted(volumes.items()):
        storage_class = volume.storage_class or default_storage_class
        provides = SINGLE_NODE_STORAGE_CLASSES.get(storage_class)
        if volume.access_mode in MULTI_NODE_ACCESS_MODES and provides:
            source = "storage_class" if volume.storage_class else "cluster.default_storage_class"
            return (
                f"jobs.volumes.{key}.access_mode is {volume.access_mode} but {source} "
                f"{storage_class!r} ({provides}) offers only ReadWriteOnce: the claim would "
                "never bind; set access_mode to ReadWriteOnce, or storage_class to a "
                "file-system class (EFS, CephFS, NFS)"
            )
    return None
