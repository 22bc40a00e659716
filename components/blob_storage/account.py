"""The environment's Azure storage account: `BlobStorage` creates one hardened StorageV2
account, its blob service settings (versioning, soft delete), its private containers and,
in prod, a delete lock. The volumes jobs mount are in volumes.py. See README.md.
"""

from __future__ import annotations

import hashlib
import re

import pulumi
from pulumi_azure_native import authorization, storage

from clouds.azure.context import AzureContext
from components.blob_storage.args import BlobStorageArgs, ContainerArgs

# `Storage Account Name` rules: 3-24 characters, lowercase letters and digits only.
ACCOUNT_NAME_LENGTH = 24
ACCOUNT_HASH_LENGTH = 6


def default_account_name(project: str, stack: str) -> str:
    """`plinth` + the stack's letters and digits + 6 hex digits of `project/stack`: the
    same on every run, unlikely to be taken, and within Azure's 24 characters."""
    digest = hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:ACCOUNT_HASH_LENGTH]
    middle = re.sub(r"[^a-z0-9]", "", stack.lower())
    room = ACCOUNT_NAME_LENGTH - len("plinth") - ACCOUNT_HASH_LENGTH
    return f"plinth{middle[:room]}{digest}"


def sku_name(args: BlobStorageArgs, protect_stateful: bool) -> str:
    """Standard_<replication>; unset, zone-redundant where data must survive (prod)."""
    replication = args.replication or ("ZRS" if protect_stateful else "LRS")
    return f"Standard_{replication}"


class BlobStorage(pulumi.ComponentResource):
    """The environment's storage account and its containers.

    The account (`account_name`, StorageV2, hot tier) accepts no anonymous access, HTTPS
    with TLS 1.2 or newer only, no shared key (every request carries a Microsoft Entra
    token: the volumes mount with workload identity tokens), no SFTP local users and no
    replication to other tenants. Its blob service keeps versions and soft-deleted blobs
    and containers as configured. Per `args.containers` key: a private container of that
    name. In prod (`azure_context.protect_stateful`) the account and the containers are
    protected and retained on delete, and a `CanNotDelete` lock guards the account against
    deletion from outside Pulumi too.
    """

    account: storage.StorageAccount
    containers: dict[str, storage.BlobContainer]
    account_name: str

    def __init__(
        self,
        name: str,
        args: BlobStorageArgs,
        *,
        azure_context: AzureContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:azure:BlobStorage", name, None, opts)
        context = azure_context
        self.account_name = args.account_name or default_account_name(
            pulumi.get_project(), pulumi.get_stack()
        )
        self.account = storage.StorageAccount(
            name,
            account_name=self.account_name,
            resource_group_name=context.resource_group_name,
            location=context.location,
            kind=storage.Kind.STORAGE_V2,
            sku={"name": sku_name(args, context.protect_stateful)},
            access_tier=storage.AccessTier.HOT,
            allow_blob_public_access=False,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            # Volumes mount with the pod's workload identity token (volumes.py): nothing
            # needs the account key, so requests signed with it (or a SAS) are refused.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            is_local_user_enabled=False,
            # Nodes reach the public endpoint; only Entra-authenticated principals holding
            # a data role get in (see README.md, "Network access").
            public_network_access=storage.PublicNetworkAccess.ENABLED,
            tags=dict(sorted(context.tags.items())),
            opts=context.stateful_options(self),
        )
        storage.BlobServiceProperties(
            name,
            account_name=self.account.name,
            resource_group_name=context.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=args.versioning,
            delete_retention_policy=_retention(args.soft_delete_days),
            container_delete_retention_policy=_retention(args.soft_delete_days),
            opts=context.options(self),
        )
        if context.protect_stateful:
            authorization.ManagementLockByScope(
                name,
                scope=self.account.id,
                lock_name=f"{self.account_name}-no-delete",
                level=authorization.LockLevel.CAN_NOT_DELETE,
                notes="Plinth: the environment's data; remove the lock to delete the account.",
                opts=context.options(self),
            )
        self.containers = {
            key: self._container(name, key, container, context)
            for key, container in sorted(args.containers.items())
        }
        self.register_outputs(
            {
                "account_name": self.account.name,
                "containers": {key: c.name for key, c in self.containers.items()},
            }
        )

    def _container(
        self, prefix: str, key: str, args: ContainerArgs, context: AzureContext
    ) -> storage.BlobContainer:
        return storage.BlobContainer(
            f"{prefix}-{key}",
            account_name=self.account.name,
            resource_group_name=context.resource_group_name,
            container_name=key,
            public_access=storage.PublicAccess.NONE,
            metadata=dict(sorted(args.metadata.items())) or None,
            opts=context.stateful_options(self),
        )


def _retention(days: int) -> storage.DeleteRetentionPolicyArgsDict:
    """A soft-delete policy keeping deleted items `days` days; 0 turns it off."""
    if days == 0:
        return {"enabled": False}
    return {"enabled": True, "days": days}
