"""The Mountpoint volumes jobs mount: `S3Volumes` turns each configured volume into a
Mountpoint for Amazon S3 CSI driver (v2) volume in the jobs namespace: a static
PersistentVolume and its claim `s3-<volume>`, and a service account `s3-<volume>` whose IAM
role reaches only that bucket and prefix. The driver mounts with the credentials of the
pod's service account (`authenticationSource: pod`), so a pod mounting volume X must run as
service account `s3-X`. See README.md.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from clouds.aws.context import AwsContext, OidcIssuer
from clouds.aws.workload_role import WorkloadRole
from components.cluster import Cluster
from components.jobs_namespace.component import JobsNamespace
from components.jobs_volumes import check_volume_stores, static_volume, volume_service_account
from components.object_storage.args import ObjectStorageArgs, S3VolumeArgs, volume_name
from components.object_storage.buckets import ObjectStorage

MOUNTPOINT_DRIVER = "s3.csi.aws.com"
# The user and group job pods run as (the examples' EXAMPLE_UID in
# components/training_operator/component.py). Mountpoint runs unprivileged in its own pod and shows
# every file as owned by this user and group; `allow-other` lets the job's processes in.
JOB_USER_ID = 10000
S3_READ = ("s3:GetObject",)
# Mountpoint's needs for writes (PutObject, AbortMultipartUpload) and deletes (DeleteObject).
S3_WRITE = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject")


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
        check_volume_stores(
            {key: volume.bucket for key, volume in args.volumes.items()},
            storage.buckets,
            store="bucket",
            storage="ObjectStorage",
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
        volume_service_account(
            name,
            cluster=cluster,
            jobs=self._jobs,
            account=account,
            annotations=role.annotations,
            parent=self,
        )
        return role, self._mount(name, account, volume, bucket.bucket)

    def _mount(
        self, name: str, claim: str, volume: S3VolumeArgs, bucket_name: pulumi.Output[str]
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """The static PersistentVolume of `volume` and the claim `claim` bound to it."""
        region = self._context.region
        return static_volume(
            name,
            cluster=self._cluster,
            jobs=self._jobs,
            claim=claim,
            service_account=claim,  # the volume's claim and account share the name
            access=volume.access,
            mount_options=mount_options(volume, region),
            driver=MOUNTPOINT_DRIVER,
            volume_attributes={
                "bucketName": bucket_name,
                "authenticationSource": "pod",
                "stsRegion": region,
            },
            parent=self,
        )
