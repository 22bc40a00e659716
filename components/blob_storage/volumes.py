"""The blobfuse2 volumes jobs mount: `BlobVolumes` turns each configured volume into an
Azure Blob CSI driver volume in the jobs namespace: a static PersistentVolume and its claim
`blob-<volume>`, a service account `blob-<volume>`, and a user-assigned managed identity
federated to exactly that service account, holding a data role on exactly the volume's
container. The driver mounts with the pod's own service-account token (keyless mode,
`mountWithWorkloadIdentityToken`), so a pod mounting volume X must run as `blob-X`.
See README.md.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

from clouds.azure.context import AzureCloud
from components.blob_storage.account import BlobStorage
from components.blob_storage.args import BlobStorageArgs, BlobVolumeArgs, volume_name
from components.blob_storage.identity import (
    CLIENT_ID_ANNOTATION,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    container_identity,
)
from components.cluster import Cluster
from components.jobs_namespace.component import JobsNamespace
from components.jobs_volumes import (
    check_volume_stores,
    persistent_volume_name,
    static_volume,
    volume_service_account,
)

BLOB_DRIVER = "blob.csi.azure.com"
# The user and group job pods run as (as for the S3 volumes): blobfuse2 shows every file
# as theirs, and `allow_other` lets the job's processes into a mount made by root.
JOB_USER_ID = 10000
# Where AKS nodes mount their temporary disk (the OS disk where the VM size has none); the
# driver's per-volume cache directory `/mnt/<volume handle>` is there.
NODE_CACHE_ROOT = "/mnt"


def role_definition(access: str) -> str:
    """The built-in role a volume's identity holds on its container."""
    return STORAGE_BLOB_DATA_CONTRIBUTOR if access == "read-write" else STORAGE_BLOB_DATA_READER


def mount_options(volume: BlobVolumeArgs, volume_handle: str) -> list[str]:
    """blobfuse2's options for `volume`, sorted. The driver adds its own defaults (HTTPS,
    `--tmp-path=/mnt/<volume handle>`, the container, a 10 s list cancel on mount) and
    `-o ro` for a read-only access mode."""
    options = [f"-o uid={JOB_USER_ID}", f"-o gid={JOB_USER_ID}", "-o allow_other"]
    if volume.access == "read-only":
        options.append("-o ro")
    if volume.subdirectory:
        options.append(f"--subdirectory={volume.subdirectory}")
    cache = volume.cache
    if cache.mode == "file":
        options += [
            f"--file-cache-timeout={cache.timeout_s}",
            f"--cache-size-mb={cache.size_mib}",
        ]
    else:
        options += [
            "--block-cache",
            f"--block-cache-path={NODE_CACHE_ROOT}/{volume_handle}",
            f"--block-cache-disk-size={cache.size_mib}",
            f"--block-cache-disk-timeout={cache.timeout_s}",
        ]
        if cache.memory_mib is not None:
            options.append(f"--block-cache-pool-size={cache.memory_mib}")
    return sorted(options)


class BlobVolumes(pulumi.ComponentResource):
    """blobfuse2 volumes in the jobs namespace, one per `args.volumes` key.

    Per volume X: a user-assigned managed identity `<name>-X`; a federated identity
    credential trusting only the token of service account `<jobs namespace>/blob-X` from
    the cluster's OIDC issuer (audience `api://AzureADTokenExchange`); a role assignment of
    Storage Blob Data Reader (read-only) or Contributor (read-write) to that identity,
    scoped to X's container; that service account, annotated with the identity's client
    ID; a static PersistentVolume `<jobs namespace>-blob-X` for the driver
    `blob.csi.azure.com` (blobfuse2, keyless workload identity mount); and the claim
    `blob-X` bound to it.

    PersistentVolumes and claims are protected in prod (`cluster.protect_stateful`), as the
    policy pack requires of every volume; the data is in the container, which BlobStorage
    protects and retains.
    """

    identities: dict[str, managedidentity.UserAssignedIdentity]
    claims: dict[str, k8s.core.v1.PersistentVolumeClaim]

    def __init__(
        self,
        name: str,
        args: BlobStorageArgs,
        *,
        storage: BlobStorage,
        cluster: Cluster,
        jobs_namespace: JobsNamespace,
        azure: AzureCloud,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:azure:BlobVolumes", name, None, opts)
        check_volume_stores(
            {key: volume.container for key, volume in args.volumes.items()},
            storage.containers,
            store="container",
            storage="BlobStorage",
        )
        self._prefix = name
        self._storage = storage
        self._cluster = cluster
        self._jobs = jobs_namespace
        self._azure = azure
        self.identities = {}
        self.claims = {}
        for key, volume in sorted(args.volumes.items()):
            self.identities[key], self.claims[key] = self._volume(key, volume)
        self.register_outputs(
            {
                "claims": [volume_name(key) for key in self.claims],
                "client_ids": {key: i.client_id for key, i in self.identities.items()},
            }
        )

    def _volume(
        self, key: str, volume: BlobVolumeArgs
    ) -> tuple[managedidentity.UserAssignedIdentity, k8s.core.v1.PersistentVolumeClaim]:
        """Volume `key`: its identity, trust and role, its service account, then its
        volume and claim."""
        name = f"{self._prefix}-{key}"
        account = volume_name(key)
        identity = self._identity(name, account, volume)
        volume_service_account(
            name,
            cluster=self._cluster,
            jobs=self._jobs,
            account=account,
            annotations={CLIENT_ID_ANNOTATION: identity.client_id},
            parent=self,
        )
        return identity, self._mount(name, account, volume, identity)

    def _identity(
        self, name: str, service_account: str, volume: BlobVolumeArgs
    ) -> managedidentity.UserAssignedIdentity:
        """The managed identity of one volume, trusting only its service account's token
        and holding a data role on only its container."""
        return container_identity(
            name,
            azure=self._azure,
            namespace=self._jobs.namespace_name,
            service_account=service_account,
            container=self._storage.containers[volume.container],
            role=role_definition(volume.access),
            description=f"Plinth: blobfuse2 volume {service_account} ({volume.access})",
            parent=self,
        )

    def _mount(
        self,
        name: str,
        claim: str,
        volume: BlobVolumeArgs,
        identity: managedidentity.UserAssignedIdentity,
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """The static PersistentVolume of `volume` and the claim `claim` bound to it."""
        handle = persistent_volume_name(self._jobs.namespace_name, claim)
        return static_volume(
            name,
            cluster=self._cluster,
            jobs=self._jobs,
            claim=claim,
            service_account=claim,  # the volume's claim and account share the name
            access=volume.access,
            mount_options=mount_options(volume, handle),
            driver=BLOB_DRIVER,
            volume_attributes={
                "protocol": "fuse2",
                "resourcegroup": self._azure.context.resource_group_name,
                "storageaccount": self._storage.account.name,
                "containerName": volume.container,
                # Keyless: blobfuse2 exchanges the pod's token for one of this identity.
                "clientID": identity.client_id,
                "tenantID": identity.tenant_id,
                "mountWithWorkloadIdentityToken": "true",
            },
            parent=self,
        )
