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
from pulumi_azure_native import authorization, managedidentity

from clouds.azure.context import AzureCloud
from components.blob_storage.account import BlobStorage
from components.blob_storage.args import BlobStorageArgs, BlobVolumeArgs, volume_name
from components.cluster import Cluster
from components.jobs_namespace.component import JobsNamespace
from components.jobs_volumes import (
    check_volume_stores,
    persistent_volume_name,
    static_volume,
    volume_service_account,
)

BLOB_DRIVER = "blob.csi.azure.com"
# The audience of the token AKS's workload identity exchanges with Microsoft Entra ID; the
# blob CSI driver's CSIDriver requests the pod's token for exactly this audience.
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 (an audience, not a secret)
# The user and group job pods run as (as for the S3 volumes): blobfuse2 shows every file
# as theirs, and `allow_other` lets the job's processes into a mount made by root.
JOB_USER_ID = 10000
# Azure built-in role definitions (learn.microsoft.com, "Azure built-in roles", Storage):
# read blobs and list containers; and read, write and delete blobs.
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# Where AKS nodes mount their temporary disk (the OS disk where the VM size has none); the
# driver's per-volume cache directory `/mnt/<volume handle>` is there.
NODE_CACHE_ROOT = "/mnt"


def role_definition(access: str) -> str:
    """The built-in role a volume's identity holds on its container."""
    return STORAGE_BLOB_DATA_CONTRIBUTOR if access == "read-write" else STORAGE_BLOB_DATA_READER


def role_definition_id(subscription_id: str, access: str) -> str:
    """The role definition's resource ID, as role assignments name it."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_definition(access)}"
    )


def subscription_of(resource_id: str) -> str:
    """The subscription ID in an Azure resource ID (`/subscriptions/<id>/...`)."""
    return resource_id.split("/")[2]


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service account's token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


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
            annotations={"azure.workload.identity/client-id": identity.client_id},
            parent=self,
        )
        return identity, self._mount(name, account, volume, identity)

    def _identity(
        self, name: str, service_account: str, volume: BlobVolumeArgs
    ) -> managedidentity.UserAssignedIdentity:
        """The managed identity of one volume, trusting only its service account's token
        and holding a data role on only its container."""
        context = self._azure.context
        identity = managedidentity.UserAssignedIdentity(
            name,
            resource_name_=name,
            resource_group_name=context.resource_group_name,
            location=context.location,
            tags=dict(sorted(context.tags.items())),
            opts=context.options(self),
        )
        managedidentity.FederatedIdentityCredential(
            name,
            federated_identity_credential_resource_name=service_account,
            resource_name_=identity.name,
            resource_group_name=context.resource_group_name,
            issuer=self._azure.oidc_issuer_url,
            subject=service_account_subject(self._jobs.namespace_name, service_account),
            audiences=[TOKEN_AUDIENCE],
            opts=context.options(self),
        )
        container = self._storage.containers[volume.container]
        authorization.RoleAssignment(
            name,
            scope=container.id,
            role_definition_id=container.id.apply(
                lambda container_id: role_definition_id(
                    subscription_of(container_id), volume.access
                )
            ),
            principal_id=identity.principal_id,
            # Without it Azure looks the new identity up in Microsoft Graph first, which
            # may not have it yet ("PrincipalNotFound").
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"Plinth: blobfuse2 volume {service_account} ({volume.access})",
            opts=context.options(self),
        )
        return identity

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
