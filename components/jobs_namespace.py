"""The namespace where data scientists run Spark and training jobs, fenced for sharing.

Creates the namespace with Pod Security Admission labels, a ResourceQuota (CPU, memory,
GPUs, pods), a LimitRange that gives containers without resources sensible defaults, a
default-deny NetworkPolicy that still lets job pods talk to each other and to DNS, and the
shared volumes (PersistentVolumeClaims) jobs mount to share datasets and checkpoints.
Operators add their own service accounts and RBAC inside it; this component owns only
the namespace, its fences and its volumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, StringConstraints

from components.args import DNS_LABEL, QUANTITY, ComponentArgs, FrozenModel, OwnNamespace
from components.cluster import GPU_RESOURCE, Cluster
from components.pod_security import PodSecurityLevel, namespace_labels


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


class JobsNamespace(pulumi.ComponentResource):
    """The shared jobs namespace, its quota, default limits and default-deny network policy."""

    namespace_name: str

    def __init__(
        self,
        name: str,
        args: JobsNamespaceArgs,
        *,
        cluster: Cluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:workloads:JobsNamespace", name, None, opts)
        child = cluster.resource_options(self)
        ns = args.name
        self.namespace = k8s.core.v1.Namespace(
            name, metadata=cluster.metadata(ns, **namespace_labels(args.pod_security)), opts=child
        )
        self.namespace_name = ns
        in_namespace = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[self.namespace])
        )
        self._quota_and_defaults(name, args.quota, cluster, in_namespace)
        self._default_deny(name, cluster, in_namespace)
        self.volumes = {
            key: self._volume(name, key, volume, cluster, in_namespace)
            for key, volume in sorted(args.volumes.items())
        }
        self.register_outputs({"namespace": ns})

    def _quota_and_defaults(
        self, name: str, quota: JobsQuota, cluster: Cluster, in_namespace: pulumi.ResourceOptions
    ) -> None:
        ns = self.namespace_name
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=cluster.metadata("jobs-quota", ns),
            spec={
                "hard": {
                    "requests.cpu": quota.cpu,
                    "limits.cpu": quota.cpu,
                    "requests.memory": quota.memory,
                    "limits.memory": quota.memory,
                    f"requests.{GPU_RESOURCE}": str(quota.gpus),
                    "pods": str(quota.pods),
                }
            },
            opts=in_namespace,
        )
        k8s.core.v1.LimitRange(
            f"{name}-defaults",
            metadata=cluster.metadata("container-defaults", ns),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default_request": {"cpu": "250m", "memory": "512Mi"},
                        "default": {"cpu": "1", "memory": "2Gi"},
                    }
                ]
            },
            opts=in_namespace,
        )

    def _default_deny(
        self, name: str, cluster: Cluster, in_namespace: pulumi.ResourceOptions
    ) -> None:
        ns = self.namespace_name
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=cluster.metadata("default-deny", ns),
            spec={
                # Deny everything by default, then allow traffic within the namespace
                # (driver <-> executors, workers <-> master), DNS, and HTTPS out: Spark
                # drivers call the API server to start executors, jobs read object stores.
                "pod_selector": {},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [{"from_": [{"pod_selector": {}}]}],
                "egress": [
                    {"to": [{"pod_selector": {}}]},
                    {
                        "to": [{"namespace_selector": {}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {
                        "ports": [
                            {"protocol": "TCP", "port": 443},
                            {"protocol": "TCP", "port": 6443},
                        ]
                    },
                ],
            },
            opts=in_namespace,
        )

    def _volume(
        self,
        name: str,
        key: str,
        volume: SharedVolume,
        cluster: Cluster,
        in_namespace: pulumi.ResourceOptions,
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """One shared volume. The claim holds the data: dynamically provisioned volumes are
        deleted with their claim (reclaim policy Delete), so in prod the claim is protected
        and also retained on delete: even once someone unprotects it and removes it from the
        configuration, Pulumi forgets the claim but leaves it and its data in the cluster
        for an administrator to back up and delete by hand."""
        stateful = pulumi.ResourceOptions(
            protect=cluster.protect_stateful, retain_on_delete=cluster.protect_stateful
        )
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-volume-{key}",
            metadata=cluster.metadata(key, self.namespace_name),
            spec={
                "access_modes": [volume.access_mode],
                # Always explicit: left out, the admission plugin would pick whatever is the
                # cluster's default at creation, and the plan would not show it.
                "storage_class_name": volume.storage_class or cluster.default_storage_class,
                "resources": {"requests": {"storage": f"{volume.size_gib}Gi"}},
            },
            opts=pulumi.ResourceOptions.merge(in_namespace, stateful),
        )
