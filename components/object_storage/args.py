"""Settings of S3 object storage (`plinth:object_storage`): pydantic only, no cloud SDK."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from components.args import DNS_LABEL, ComponentArgs, FrozenModel
from components.jobs_volumes import claim_name
from components.merge import deep_merge

# Component defaults, merged under what the environment gives (maps merge, lists replace),
# so a stack file that tunes one bucket keeps the other.
DEFAULT_BUCKETS: dict[str, dict[str, Any]] = {
    "datasets": {"expire_prefixes": {"scratch/": 14}},
    "artifacts": {},
}
DEFAULT_VOLUMES: dict[str, dict[str, Any]] = {
    "datasets": {"bucket": "datasets", "access": "read-only"},
    "scratch": {"bucket": "datasets", "prefix": "scratch/", "access": "read-write"},
}


# An S3 key prefix Plinth mounts or expires: empty (the whole bucket) or `a/b/`.
S3_PREFIX = r"^([A-Za-z0-9!_.*'()-]+/)*$"


# Characters an IAM Resource or s3:prefix condition treats as wildcards.
IAM_WILDCARDS = ("*", "?")


VolumeKey = Annotated[str, StringConstraints(pattern=DNS_LABEL)]


class BucketArgs(FrozenModel):
    """One S3 bucket: private, SSE-KMS encrypted, TLS-only, with lifecycle rules."""

    versioning: bool = Field(
        True,
        description=(
            "Keep overwritten and deleted objects as noncurrent versions (required in prod; "
            "the dev tier turns it off). S3 cannot unversion a bucket: turning it off later "
            "suspends versioning, and the versions kept so far still expire."
        ),
    )
    noncurrent_version_expiration_days: int = Field(
        30,
        ge=1,
        description=(
            "Days a noncurrent (overwritten or deleted) version is kept before S3 deletes it."
        ),
    )
    abort_incomplete_upload_days: int = Field(
        7, ge=1, description="Days after which S3 discards the parts of an unfinished upload."
    )
    expire_prefixes: dict[
        Annotated[str, StringConstraints(pattern=S3_PREFIX, min_length=2)], int
    ] = Field(
        default_factory=dict,
        description="Key prefix (ending in /) -> days after which its objects expire.",
    )


class S3VolumeArgs(FrozenModel):
    """A Mountpoint for S3 volume: one bucket (or a prefix of it) as a PersistentVolume and
    claim in the jobs namespace, with a service account whose IAM role reaches only that."""

    bucket: str = Field(pattern=DNS_LABEL, description="Key of the bucket in `buckets`.")
    prefix: str = Field(
        "",
        pattern=S3_PREFIX,
        description=(
            "Key prefix mounted as the volume's root, ending in '/'; '' is the bucket. No "
            "wildcards: the role's IAM policy would read them as matching any key."
        ),
    )
    access: Literal["read-only", "read-write"] = Field(
        "read-only",
        description=(
            "'read-only' mounts it read-only and grants only reads; 'read-write' also lets "
            "pods create, overwrite and delete objects under the prefix."
        ),
    )

    @field_validator("prefix", mode="before")
    @classmethod
    def _no_wildcards(cls, value: Any) -> Any:
        # Checked before the pattern so the message says why, not only that it mismatches.
        wildcards = sorted({c for c in IAM_WILDCARDS if isinstance(value, str) and c in value})
        if wildcards:
            raise ValueError(
                f"prefix {value!r} contains {' and '.join(wildcards)}, which IAM reads as a "
                "wildcard: the volume's role would reach every matching key (a bare '*' the "
                "whole bucket); name the prefix literally, e.g. 'scratch/'"
            )
        return value


class ObjectStorageArgs(ComponentArgs):
    """Buckets for datasets and artifacts, and the volumes jobs mount from them (EKS)."""

    buckets: dict[VolumeKey, BucketArgs] = Field(
        default_factory=dict,
        description=(
            "Buckets keyed by a stable name (datasets, artifacts); renaming a key replaces "
            "the bucket. Names are assigned by Pulumi (key plus a random suffix)."
        ),
    )
    volumes: dict[VolumeKey, S3VolumeArgs] = Field(
        default_factory=dict,
        description=(
            "Mountpoint volumes in the jobs namespace keyed by name: claim `s3-<name>`, "
            "service account `s3-<name>` (pods mounting it run as that account)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = {"buckets": DEFAULT_BUCKETS, "volumes": DEFAULT_VOLUMES}
        return deep_merge(defaults, data)

    @model_validator(mode="after")
    def _volumes_name_buckets(self) -> ObjectStorageArgs:
        for name, volume in sorted(self.volumes.items()):
            if volume.bucket not in self.buckets:
                raise ValueError(
                    f"volumes.{name}.bucket is {volume.bucket!r}, not a key of buckets "
                    f"({', '.join(sorted(self.buckets))}): name one of them or add the bucket"
                )
        return self


def volume_name(volume: str) -> str:
    """The claim and the service account of volume `volume` in the jobs namespace."""
    return claim_name("s3", volume)
