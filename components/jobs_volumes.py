"""What the object-store volume components share (S3 on eks, Blob on aks): the claim and
service account each volume brings to the jobs namespace, the check that their names are
free there, and the static PersistentVolume and claim pair that binds a volume to a job.

Each such volume `X` of a component with prefix `p` (`s3`, `blob`) is the claim `p-X` and
the service account `p-X` in the jobs namespace; pods mounting it run as that account,
whose cloud identity reaches only that volume.

Settings modules import the names from here, so the Pulumi SDKs load only when a volume
is built (inside the functions that build one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.spark_operator import COMPONENT as SPARK_OPERATOR

if TYPE_CHECKING:
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster import Cluster
    from components.jobs_namespace.component import JobsNamespace
    from stacks.config import PlatformConfig

# Kubernetes requires a capacity; object-store drivers ignore it and a bucket or container
# has no size. Kept small so a namespace quota on `requests.storage` is not spent on a fiction.
NOMINAL_CAPACITY = "1Gi"
# On a volume and its claim: the service account pods mounting it must run as. The driver
# mounts with that pod's token (its CSIDriver's `tokenRequests`); a PersistentVolume cannot
# choose the account itself, so it says which one for people and tools.
SERVICE_ACCOUNT_ANNOTATION = "plinth.io/service-account"

Access = Literal["read-only", "read-write"]


def claim_name(prefix: str, volume: str) -> str:
    """The claim and the service account of volume `volume` in the jobs namespace."""
    return f"{prefix}-{volume}"


def jobs_name_collision(
    config: PlatformConfig, field: str, claims: Mapping[str, str]
) -> str | None:
    """A claim or service account of `claims` (name -> volume key under `field`, e.g.
    `object_storage.volumes`) that another setting also puts in the jobs namespace: one
    line naming both and the fix; or None."""
    jobs = config.args(JOBS_NAMESPACE)
    if not jobs.enabled:
        return None
    for key in sorted(jobs.volumes):
        if key in claims:
            return (
                f"jobs.volumes.{key} and {field}.{claims[key]} both make the claim {key!r} "
                f"in the jobs namespace: rename jobs.volumes.{key}"
            )
    spark = config.args(SPARK_OPERATOR)
    account = spark.driver_service_account
    if spark.enabled and account in claims:
        return (
            f"spark_operator.driver_service_account {account!r} is also the service "
            f"account of {field}.{claims[account]}: choose another name"
        )
    return None


def check_volume_stores(
    volumes: Mapping[str, str], stores: Iterable[str], *, store: str, storage: str
) -> None:
    """ValueError when a volume (key -> the `store` it mounts: bucket, container) names one
    the `storage` component given does not have: both must come from the same args."""
    have = sorted(stores)
    for key, wanted in sorted(volumes.items()):
        if wanted not in have:
            raise ValueError(
                f"volumes.{key}.{store} is {wanted!r}, but the {storage} given has "
                f"{store}s {', '.join(have) or 'none'}: build both components from the same "
                f"{storage}Args"
            )


def persistent_volume_name(namespace: str, claim: str) -> str:
    """The static PersistentVolume of claim `claim` in `namespace`: PersistentVolumes are
    cluster-wide, so the namespace is part of the name. It is the CSI volume handle too."""
    return f"{namespace}-{claim}"


def access_mode(access: Access) -> str:
    """The Kubernetes access mode of a volume many pods mount with `access`."""
    return "ReadWriteMany" if access == "read-write" else "ReadOnlyMany"


def in_jobs_namespace(
    cluster: Cluster,
    jobs: JobsNamespace,
    parent: pulumi.Resource,
    *,
    stateful: bool = False,
    after: Iterable[pulumi.Resource] = (),
) -> pulumi.ResourceOptions:
    """Options of a child in the jobs namespace: created once the namespace (and `after`)
    exists; protected as data where the environment's rule says so."""
    import pulumi  # noqa: PLC0415 (SDK on deploy)

    own = cluster.stateful_options(parent) if stateful else cluster.resource_options(parent)
    return pulumi.ResourceOptions.merge(
        own, pulumi.ResourceOptions(depends_on=[jobs.namespace, *after])
    )


def volume_service_account(
    name: str,
    *,
    cluster: Cluster,
    jobs: JobsNamespace,
    account: str,
    annotations: pulumi.Input[Mapping[str, pulumi.Input[str]]],
    parent: pulumi.Resource,
) -> k8s.core.v1.ServiceAccount:
    """The service account `account` in the jobs namespace that pods mounting a volume run
    as, with the `annotations` naming its cloud identity. It automounts no API token: the
    CSI driver gets the pod's token itself (its CSIDriver's `tokenRequests`), and job pods
    need no Kubernetes API access."""
    import pulumi_kubernetes as k8s  # noqa: PLC0415 (SDK on deploy)

    metadata = cluster.metadata(account, jobs.namespace_name)
    metadata["annotations"] = annotations
    return k8s.core.v1.ServiceAccount(
        name,
        metadata=metadata,
        automount_service_account_token=False,
        opts=in_jobs_namespace(cluster, jobs, parent),
    )


def static_volume(
    name: str,
    *,
    cluster: Cluster,
    jobs: JobsNamespace,
    claim: str,
    service_account: str,
    access: Access,
    mount_options: list[str],
    driver: str,
    volume_attributes: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> k8s.core.v1.PersistentVolumeClaim:
    """A static PersistentVolume `<jobs namespace>-<claim>` of the CSI `driver` with
    `volume_attributes` (its volume handle is the PV's name, unique in the cluster) and the
    claim `claim` bound only to it, both annotated with the `service_account` pods mounting
    it run as. Both are protected as data where the environment says
    so; the PV is `Retain`, so deleting either never touches the data."""
    import pulumi_kubernetes as k8s  # noqa: PLC0415 (SDK on deploy)

    namespace = jobs.namespace_name
    volume_object = persistent_volume_name(namespace, claim)
    mode = access_mode(access)
    annotations = {SERVICE_ACCOUNT_ANNOTATION: service_account}
    volume_metadata = cluster.metadata(volume_object)
    volume_metadata["annotations"] = annotations
    claim_metadata = cluster.metadata(claim, namespace)
    claim_metadata["annotations"] = annotations
    persistent_volume = k8s.core.v1.PersistentVolume(
        name,
        metadata=volume_metadata,
        spec={
            "access_modes": [mode],
            "capacity": {"storage": NOMINAL_CAPACITY},
            "storage_class_name": "",  # static provisioning
            # Only this claim may bind it; deleting the claim leaves the data alone.
            "claim_ref": {"namespace": namespace, "name": claim},
            "persistent_volume_reclaim_policy": "Retain",
            "mount_options": mount_options,
            "csi": {
                "driver": driver,
                # Kubernetes mounts one volume per handle; the PV name is unique.
                "volume_handle": volume_object,
                "volume_attributes": dict(volume_attributes),
            },
        },
        opts=cluster.stateful_options(parent),
    )
    return k8s.core.v1.PersistentVolumeClaim(
        name,
        metadata=claim_metadata,
        spec={
            "access_modes": [mode],
            "storage_class_name": "",
            "volume_name": volume_object,
            "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
        },
        opts=in_jobs_namespace(cluster, jobs, parent, stateful=True, after=[persistent_volume]),
    )
