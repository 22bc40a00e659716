"""Workload identity for one blob container: a user-assigned managed identity that trusts
exactly one Kubernetes service account's token and holds one data role on exactly one
container. Used by the blobfuse2 volumes (volumes.py), MLflow's artifacts
(components/mlflow/artifacts.py) and MLflow's database backups
(components/mlflow/database/cloudnative_pg.py). The azure-native SDK is imported when an
identity is created, so the names here are cheap to import on any target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi
    from pulumi_azure_native import managedidentity, storage

    from clouds.azure.context import AzureCloud

# The audience of the token AKS's workload identity exchanges with Microsoft Entra ID; the
# blob CSI driver's CSIDriver requests the pod's token for exactly this audience.
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 (an audience, not a secret)
# Azure built-in role definitions (learn.microsoft.com, "Azure built-in roles", Storage):
# read blobs and list containers; and read, write and delete blobs.
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# The service account annotation and pod label AKS's workload identity webhook acts on.
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
WORKLOAD_IDENTITY_LABEL = {"azure.workload.identity/use": "true"}


def subscription_of(resource_id: str) -> str:
    """The subscription ID in an Azure resource ID (`/subscriptions/<id>/...`)."""
    return resource_id.split("/")[2]


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service account's token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def role_definition_id(subscription_id: str, role: str) -> str:
    """The resource ID of the built-in role `role` (a GUID), as role assignments name it."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


def container_identity(
    name: str,
    *,
    azure: AzureCloud,
    namespace: str,
    service_account: str,
    container: storage.BlobContainer,
    role: str,
    description: str,
    parent: pulumi.Resource,
) -> managedidentity.UserAssignedIdentity:
    """The identity `name`, federated to `namespace/service_account` only, holding `role`
    on `container` only (Azure data roles stop at the container)."""
    from pulumi_azure_native import authorization, managedidentity  # noqa: PLC0415

    context = azure.context
    identity = managedidentity.UserAssignedIdentity(
        name,
        resource_name_=name,
        resource_group_name=context.resource_group_name,
        location=context.location,
        tags=dict(sorted(context.tags.items())),
        opts=context.options(parent),
    )
    managedidentity.FederatedIdentityCredential(
        name,
        federated_identity_credential_resource_name=service_account,
        resource_name_=identity.name,
        resource_group_name=context.resource_group_name,
        issuer=azure.oidc_issuer_url,
        subject=service_account_subject(namespace, service_account),
        audiences=[TOKEN_AUDIENCE],
        opts=context.options(parent),
    )
    authorization.RoleAssignment(
        name,
        scope=container.id,
        role_definition_id=container.id.apply(
            lambda container_id: role_definition_id(subscription_of(container_id), role)
        ),
        principal_id=identity.principal_id,
        # Without it Azure looks the new identity up in Microsoft Graph first, which may
        # not have it yet ("PrincipalNotFound").
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        description=description,
        opts=context.options(parent),
    )
    return identity
