"""Settings of Azure Blob storage (`plinth:blob_storage`): pydantic only, no cloud SDK."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from components.args import ComponentArgs, FrozenModel
from components.jobs_volumes import Access, claim_name
from components.merge import deep_merge

# Component defaults, merged under what the environment gives (maps merge, lists replace).
# A container is the smallest scope of an Azure role assignment, so the read-write scratch
# volume has a container of its own: its identity cannot touch the datasets.
DEFAULT_CONTAINERS: dict[str, dict[str, Any]] = {"datasets": {}, "artifacts": {}, "scratch": {}}
DEFAULT_VOLUMES: dict[str, dict[str, Any]] = {
    "datasets": {"container": "datasets", "access": "read-only"},
    "scratch": {"container": "scratch", "access": "read-write"},
}

# A container name: 3-63 characters, lowercase letters, digits and single dashes, starting
# and ending with a letter or digit (Azure's "Naming and referencing containers").
CONTAINER_NAME = r"^[a-z0-9]+(-[a-z0-9]+)*$"
# A storage account name: 3-24 lowercase letters and digits, unique across Azure.
ACCOUNT_NAME = r"^[a-z0-9]{3,24}$"
# A blobfuse2 `--subdirectory`: path segments without leading, trailing or double slashes.
SUBDIRECTORY = r"^([A-Za-z0-9!_.*'()=+-]+(/[A-Za-z0-9!_.*'()=+-]+)*)?$"
# Volume keys become the claim `blob-<key>` and its Kubernetes and Azure names: a DNS label
# short enough for the PV name `<namespace>-blob-<key>`.
VolumeKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")]
ContainerKey = Annotated[
    str, StringConstraints(pattern=CONTAINER_NAME, min_length=3, max_length=63)
]

Replication = Literal["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"]


class ContainerArgs(FrozenModel):
    """One private blob container (no anonymous access), named as its key."""

    metadata: dict[str, str] = Field(
        default_factory=dict, description="Name-value pairs stored on the container."
    )


class BlobCacheArgs(FrozenModel):
    """How blobfuse2 caches a volume on the node: its file cache (whole files on the
    node's temporary disk) or its block cache (blocks in memory, spilling to that disk)."""

    mode: Literal["file", "block"] = Field(
        "file",
        description=(
            "'file' downloads each opened file whole into the node's temporary disk (the "
            "driver's per-volume directory under /mnt): random reads and writes, files up "
            "to the disk's size. 'block' streams blocks into memory and the same disk: for "
            "large sequential reads of files bigger than the disk (read-write volumes are "
            "better served by 'file')."
        ),
    )
    size_mib: int = Field(
        10240,
        ge=1,
        description="Disk the cache may fill on each node mounting the volume, in MiB.",
    )
    timeout_s: int = Field(
        120,
        ge=0,
        description=(
            "Seconds a cached file (file mode) or block (block mode) stays on the disk after "
            "last use; 0 evicts it as soon as it is closed."
        ),
    )
    memory_mib: int | None = Field(
        None,
        ge=1,
        description=(
            "Block mode only: memory preallocated for blocks, in MiB (unset: blobfuse2's "
            "default, 60% of the node's available memory). Counts against the node, not "
            "the pod: set it on shared nodes."
        ),
    )

    @model_validator(mode="after")
    def _memory_needs_block_mode(self) -> BlobCacheArgs:
        if self.memory_mib is not None and self.mode != "block":
            raise ValueError(
                "cache.memory_mib is set but cache.mode is 'file': the file cache keeps no "
                "blocks in memory; remove memory_mib or set mode: block"
            )
        return self


class BlobVolumeArgs(FrozenModel):
    """A blobfuse2 volume: one container (or a directory of it) as a PersistentVolume and
    claim in the jobs namespace, with a service account whose managed identity holds a
    data role on that container only."""

    container: str = Field(
        pattern=CONTAINER_NAME, description="Key of the container in `containers`."
    )
    subdirectory: str = Field(
        "",
        pattern=SUBDIRECTORY,
        description=(
            "Directory of the container mounted as the volume's root ('' is the whole "
            "container), e.g. 'curated/images'. It narrows what the mount shows, not what "
            "the identity may reach: Azure roles stop at the container."
        ),
    )
    access: Access = Field(
        "read-only",
        description=(
            "'read-only' mounts it read-only with Storage Blob Data Reader; 'read-write' "
            "lets pods create, change and delete blobs, with Storage Blob Data Contributor."
        ),
    )
    cache: BlobCacheArgs = Field(
        default_factory=BlobCacheArgs, description="blobfuse2's cache on the node."
    )


class BlobStorageArgs(ComponentArgs):
    """The environment's storage account, its containers, and the volumes jobs mount (AKS)."""

    account_name: str | None = Field(
        None,
        pattern=ACCOUNT_NAME,
        description=(
            "The storage account's name, unique across Azure (3-24 lowercase letters and "
            "digits). Unset: 'plinth' plus the stack name's letters and digits plus a hash "
            "of project and stack. Changing it replaces the account and its data."
        ),
    )
    replication: Replication | None = Field(
        None,
        description=(
            "Redundancy of the account's SKU (Standard_<replication>). Unset: ZRS in prod "
            "(three zones), LRS elsewhere. ZRS and GZRS need a region with zones."
        ),
    )
    versioning: bool = Field(
        True,
        description=(
            "Keep a blob's previous versions on overwrite and delete (required in prod by "
            "`azure-storage-recoverable`)."
        ),
    )
    soft_delete_days: int = Field(
        14,
        ge=0,
        le=365,
        description=(
            "Days a deleted blob and a deleted container can be restored; 0 turns soft "
            "delete off (refused in prod by `azure-storage-recoverable`)."
        ),
    )
    containers: dict[ContainerKey, ContainerArgs] = Field(
        default_factory=dict,
        description=(
            "Private containers keyed by their name (datasets, artifacts, scratch); "
            "renaming a key replaces the container."
        ),
    )
    volumes: dict[VolumeKey, BlobVolumeArgs] = Field(
        default_factory=dict,
        description=(
            "blobfuse2 volumes in the jobs namespace keyed by name: claim `blob-<name>`, "
            "service account `blob-<name>` (pods mounting it run as that account)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = {"containers": DEFAULT_CONTAINERS, "volumes": DEFAULT_VOLUMES}
        return deep_merge(defaults, data)

    @model_validator(mode="after")
    def _volumes_name_containers(self) -> BlobStorageArgs:
        for name, volume in sorted(self.volumes.items()):
            if volume.container not in self.containers:
                raise ValueError(
                    f"volumes.{name}.container is {volume.container!r}, not a key of "
                    f"containers ({', '.join(sorted(self.containers))}): name one of them or "
                    "add the container"
                )
        return self


def volume_name(volume: str) -> str:
    """The claim and the service account of volume `volume` in the jobs namespace."""
    return claim_name("blob", volume)
