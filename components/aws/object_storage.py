"""S3 object storage of an environment: the buckets, and the Mountpoint volumes jobs mount.

`ObjectStorage` creates one KMS key for the environment's data and, per configured bucket, a
private, SSE-KMS encrypted, TLS-only bucket with its lifecycle rules. `S3Volumes` turns each
configured volume into a Mountpoint for Amazon S3 CSI driver (v2) volume in the jobs
namespace: a static PersistentVolume and its claim `s3-<volume>`, and a service account
`s3-<volume>` whose IAM role reaches only that bucket and prefix. The driver mounts with the
credentials of the pod's service account (`authenticationSource: pod`), so a pod mounting
volume X must run as service account `s3-X`. See docs/components/object-storage.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, StringConstraints, field_validator, model_validator

from components.args import DNS_LABEL, ComponentArgs, FrozenModel
from components.aws.context import AwsContext, OidcIssuer
from components.aws.policy_documents import policy_document, tls_only_statement
from components.aws.workload_role import WorkloadRole
from components.cluster import Cluster
from components.jobs_namespace import JobsNamespace
from components.merge import deep_merge

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


# ---------------------------------------------------------------------------------------
# The buckets

# The key may be scheduled for deletion only with this much notice, the longest KMS allows:
# every object in the buckets is unreadable once the key is gone.
KEY_DELETION_WINDOW_DAYS = 30


def tls_only_policy(bucket_arn: str) -> str:
    """The bucket policy that refuses every request not made over TLS, as JSON."""
    return policy_document([tls_only_statement(bucket_arn)])


def lifecycle_rules(bucket: BucketArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """The bucket's lifecycle rules: discard unfinished uploads, expire noncurrent versions
    and expire each prefix of `expire_prefixes`.

    The noncurrent-version rule stays when `versioning` is false: a bucket whose versioning
    was turned off is suspended, not unversioned, and its old versions must still expire
    (on a bucket never versioned the rule finds nothing to do).
    """
    every_object: aws.s3.BucketLifecycleConfigurationRuleFilterArgsDict = {}
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": every_object,
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": bucket.abort_incomplete_upload_days
            },
        },
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": every_object,
            "noncurrent_version_expiration": {
                "noncurrent_days": bucket.noncurrent_version_expiration_days
            },
        },
    ]
    rules.extend(
        {
            "id": f"expire-{prefix}",
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": days},
        }
        for prefix, days in sorted(bucket.expire_prefixes.items())
    )
    return rules


class ObjectStorage(pulumi.ComponentResource):
    """The environment's buckets and the KMS key that encrypts them.

    Per `args.buckets` key: a bucket named by Pulumi (`<name>-<key>-<random>`) with a public
    access block, SSE-KMS default encryption under the key (S3 Bucket Keys on, SSE-C
    refused), object ownership BucketOwnerEnforced (no ACLs), a bucket policy denying
    requests without TLS, lifecycle rules and, when `versioning` is true, versioning
    Enabled. In prod (`aws_context.protect_stateful`) the buckets and the key are protected
    and retained on delete. Child names derive from `name` and the bucket key: renaming
    either replaces the bucket.
    """

    buckets: dict[str, aws.s3.Bucket]
    key: aws.kms.Key

    def __init__(
        self,
        name: str,
        args: ObjectStorageArgs,
        *,
        aws_context: AwsContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:ObjectStorage", name, None, opts)
        self._context = aws_context
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        self.key = aws.kms.Key(
            f"{name}-data",
            description=f"Default encryption of the S3 buckets of {stack}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            opts=aws_context.stateful_options(self),
        )
        aws.kms.Alias(
            f"{name}-data",
            # Aliases are unique per account and region, where several stacks may live.
            name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}-{name}-data",
            target_key_id=self.key.key_id,
            opts=aws_context.options(self),
        )
        self.buckets = {
            key: self._bucket(f"{name}-{key}", bucket)
            for key, bucket in sorted(args.buckets.items())
        }
        self.register_outputs(
            {
                "buckets": {key: bucket.bucket for key, bucket in self.buckets.items()},
                "key_arn": self.key.arn,
            }
        )

    def _bucket(self, name: str, args: BucketArgs) -> aws.s3.Bucket:
        context = self._context
        bucket = aws.s3.Bucket(name, force_destroy=False, opts=context.stateful_options(self))
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=context.options(self),
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=context.options(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    # One data key per bucket instead of a KMS call per object.
                    "bucket_key_enabled": True,
                    # An object under a customer-provided key would escape the KMS key and
                    # be unreadable through Mountpoint.
                    "blocked_encryption_types": ["SSE-C"],
                }
            ],
            opts=context.options(self),
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            # S3 rejects concurrent changes to a bucket's access settings.
            opts=context.options(self, depends_on=[public_access_block]),
        )
        # Without versioning no BucketVersioning exists: a bucket never versioned stays
        # unversioned, and removing the resource from a versioned bucket suspends its
        # versioning (S3 cannot turn it off), keeping the versions it already holds.
        versioning = None
        if args.versioning:
            versioning = aws.s3.BucketVersioning(
                name,
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=context.options(self),
            )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=lifecycle_rules(args),
            # Rules on noncurrent versions need versioning configured first.
            opts=context.options(self, depends_on=[versioning] if versioning else []),
        )
        return bucket


# ---------------------------------------------------------------------------------------
# The volumes jobs mount

MOUNTPOINT_DRIVER = "s3.csi.aws.com"
# The user and group job pods run as (the examples' EXAMPLE_UID in
# components/training_operator.py). Mountpoint runs unprivileged in its own pod and shows
# every file as owned by this user and group; `allow-other` lets the job's processes in.
JOB_USER_ID = 10000
# Kubernetes requires a capacity; Mountpoint ignores it and S3 has no size. Kept small so a
# namespace quota on `requests.storage` is not spent on a fiction.
NOMINAL_CAPACITY = "1Gi"
S3_READ = ("s3:GetObject",)
# Mountpoint's needs for writes (PutObject, AbortMultipartUpload) and deletes (DeleteObject).
S3_WRITE = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject")


def volume_name(volume: str) -> str:
    """The claim and the service account of volume `volume` in the jobs namespace."""
    return f"s3-{volume}"


def volume_statements(
    volume: S3VolumeArgs, bucket_arn: str, key_arn: str, region: str
) -> list[dict[str, Any]]:
    """The IAM statements that let Mountpoint (and the pod) use `volume` and nothing else:
    list its prefix, read (and for read-write, write and delete) the objects under it, and
    use the data key through S3 only."""
    list_bucket: dict[str, Any] = {
        "Sid": "ListVolume",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
    }
    if volume.prefix:
        # ListBucket takes no key in its Resource: a prefix is scoped by condition.
        list_bucket["Condition"] = {"StringLike": {"s3:prefix": f"{volume.prefix}*"}}
    writes = volume.access == "read-write"
    object_actions = S3_READ + S3_WRITE if writes else S3_READ
    key_actions = ("kms:Decrypt", "kms:GenerateDataKey") if writes else ("kms:Decrypt",)
    return [
        list_bucket,
        {
            "Sid": "ReadWriteObjects" if writes else "ReadObjects",
            "Effect": "Allow",
            "Action": sorted(object_actions),
            "Resource": f"{bucket_arn}/{volume.prefix}*",
        },
        {
            "Sid": "UseDataKeyThroughS3",
            "Effect": "Allow",
            "Action": list(key_actions),
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]


def mount_options(volume: S3VolumeArgs, region: str) -> list[str]:
    """Mountpoint's options for `volume`, sorted."""
    options = [
        f"region {region}",
        f"uid {JOB_USER_ID}",
        f"gid {JOB_USER_ID}",
        "allow-other",
    ]
    if volume.prefix:
        options.append(f"prefix {volume.prefix}")
    if volume.access == "read-write":
        # Mountpoint only creates new files unless told it may replace and remove them.
        options += ["allow-delete", "allow-overwrite"]
    else:
        options.append("read-only")
    return sorted(options)


class S3Volumes(pulumi.ComponentResource):
    """Mountpoint for S3 volumes in the jobs namespace, one per `args.volumes` key.

    Per volume X: an IAM role only service account `<jobs namespace>/s3-X` can assume,
    allowed to list, read (and for read-write, write and delete) X's bucket and prefix and
    nothing else; that service account, annotated with the role; a static PersistentVolume
    `<jobs namespace>-s3-X` for the driver `s3.csi.aws.com` with pod-level credentials; and
    the claim `s3-X` bound to it. A pod mounting claim `s3-X` must run as service account
    `s3-X`: the driver mounts with the pod's credentials, never its own.

    PersistentVolumes and claims are protected in prod (`cluster.protect_stateful`), as the
    policy pack requires of every volume, but not retained on delete: the data is in the
    bucket, which ObjectStorage protects and retains.
    """

    roles: dict[str, WorkloadRole]
    claims: dict[str, k8s.core.v1.PersistentVolumeClaim]

    def __init__(
        self,
        name: str,
        args: ObjectStorageArgs,
        *,
        storage: ObjectStorage,
        cluster: Cluster,
        jobs_namespace: JobsNamespace,
        aws_context: AwsContext,
        issuer: OidcIssuer,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:S3Volumes", name, None, opts)
        for key, volume in sorted(args.volumes.items()):
            if volume.bucket not in storage.buckets:
                raise ValueError(
                    f"volumes.{key}.bucket is {volume.bucket!r}, but the ObjectStorage given "
                    f"has buckets {', '.join(sorted(storage.buckets)) or 'none'}: build both "
                    "components from the same ObjectStorageArgs"
                )
        self._prefix = name
        self._storage = storage
        self._cluster = cluster
        self._jobs = jobs_namespace
        self._context = aws_context
        self._issuer = issuer
        self.roles = {}
        self.claims = {}
        for key, volume in sorted(args.volumes.items()):
            self.roles[key], self.claims[key] = self._volume(key, volume)
        self.register_outputs(
            {
                "claims": [volume_name(key) for key in self.claims],
                "roles": {key: role.arn for key, role in self.roles.items()},
            }
        )

    def _volume(
        self, key: str, volume: S3VolumeArgs
    ) -> tuple[WorkloadRole, k8s.core.v1.PersistentVolumeClaim]:
        """Volume `key`: its role and service account, then its volume and claim."""
        name = f"{self._prefix}-{key}"
        cluster, namespace = self._cluster, self._jobs.namespace_name
        bucket, region = self._storage.buckets[volume.bucket], self._context.region
        account = volume_name(key)
        role = WorkloadRole(
            name,
            aws_context=self._context,
            issuer=self._issuer,
            namespace=namespace,
            service_account=account,
            statements=pulumi.Output.all(bucket.arn, self._storage.key.arn).apply(
                lambda arns: volume_statements(volume, arns[0], arns[1], region)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        metadata = cluster.metadata(account, namespace)
        metadata["annotations"] = role.annotations
        k8s.core.v1.ServiceAccount(
            name,
            metadata=metadata,
            # Mountpoint gets its own token for the role (the CSIDriver's tokenRequests),
            # so job pods need no Kubernetes API token.
            automount_service_account_token=False,
            opts=self._in_namespace(),
        )
        return role, self._mount(name, account, volume, bucket.bucket)

    def _in_namespace(
        self, *, protect: bool | None = None, after: pulumi.Resource | None = None
    ) -> pulumi.ResourceOptions:
        """Options of a child in the jobs namespace: created once the namespace (and
        `after`) exists."""
        depends_on: list[pulumi.Resource] = [self._jobs.namespace]
        if after is not None:
            depends_on.append(after)
        return pulumi.ResourceOptions.merge(
            self._cluster.resource_options(self),
            pulumi.ResourceOptions(protect=protect, depends_on=depends_on),
        )

    def _mount(
        self, name: str, claim_name: str, volume: S3VolumeArgs, bucket_name: pulumi.Output[str]
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """The static PersistentVolume of `volume` and the claim `claim_name` bound to it."""
        cluster, namespace, region = self._cluster, self._jobs.namespace_name, self._context.region
        volume_object = f"{namespace}-{claim_name}"  # PersistentVolumes are cluster-wide
        access_mode = "ReadWriteMany" if volume.access == "read-write" else "ReadOnlyMany"
        persistent_volume = k8s.core.v1.PersistentVolume(
            name,
            metadata=cluster.metadata(volume_object),
            spec={
                "access_modes": [access_mode],
                "capacity": {"storage": NOMINAL_CAPACITY},
                "storage_class_name": "",  # static provisioning
                # Only this claim may bind it; deleting the claim leaves the data alone.
                "claim_ref": {"namespace": namespace, "name": claim_name},
                "persistent_volume_reclaim_policy": "Retain",
                "mount_options": mount_options(volume, region),
                "csi": {
                    "driver": MOUNTPOINT_DRIVER,
                    # Kubernetes mounts one volume per handle; the PV name is unique.
                    "volume_handle": volume_object,
                    "volume_attributes": {
                        "bucketName": bucket_name,
                        "authenticationSource": "pod",
                        "stsRegion": region,
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                cluster.resource_options(self),
                pulumi.ResourceOptions(protect=cluster.protect_stateful),
            ),
        )
        return k8s.core.v1.PersistentVolumeClaim(
            name,
            metadata=cluster.metadata(claim_name, namespace),
            spec={
                "access_modes": [access_mode],
                "storage_class_name": "",
                "volume_name": volume_object,
                "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
            },
            opts=self._in_namespace(protect=cluster.protect_stateful, after=persistent_volume),
        )
