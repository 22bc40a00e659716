"""Deterministic stand-ins for the outputs only a cloud provider would assign.

The program reads some outputs to build other resources: a bucket's ARN for its policy, the
cluster's OIDC issuer for trust policies, a node group's Auto Scaling group for the
autoscaler's tags. Under mocks nothing assigns them, so each is derived here from the
resource's name and inputs: the same on every run and every machine, and shaped like the
real value (ARN formats from the AWS service authorization reference) so that policy
rules judge the plan as they would judge the real thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

ACCOUNT_ID = "123456789012"  # AWS's documentation account
DEFAULT_REGION = "us-east-1"
AWS_PROVIDER = "pulumi:providers:aws"

Outputs = Callable[[str, Mapping[str, Any], str], dict[str, Any]]


def _arn(service: str, region: str, resource: str, *, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _bucket(name: str, inputs: Mapping[str, Any], _region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or name
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.amazonaws.com",
    }


def _eks_cluster(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    cluster = inputs.get("name") or name
    issuer = f"https://oidc.eks.{region}.amazonaws.com/id/PLACEHOLDER{len(cluster):04d}"
    return {
        "name": cluster,
        "arn": _arn("eks", region, f"cluster/{cluster}"),
        "endpoint": f"https://{cluster}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "cGxhY2Vob2xkZXItY2E="},
        "identities": [{"oidcs": [{"issuer": issuer}]}],
        "version": inputs.get("version", ""),
    }


def _node_group(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    node_group = inputs.get("nodeGroupName") or name
    return {
        "nodeGroupName": node_group,
        "arn": _arn("eks", region, f"nodegroup/{inputs.get('clusterName', '')}/{node_group}/id"),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{node_group}-placeholder"}]}],
    }


def _oidc_provider(_name: str, inputs: Mapping[str, Any], _region: str) -> dict[str, Any]:
    host = str(inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"}


def _iam(kind: str) -> Outputs:
    def outputs(name: str, inputs: Mapping[str, Any], _region: str) -> dict[str, Any]:
        resource_name = inputs.get("name") or name
        return {"name": resource_name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{resource_name}"}

    return outputs


def _kms_key(name: str, _inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {"keyId": f"key-{name}", "arn": _arn("kms", region, f"key/key-{name}")}


def _launch_template(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "name": inputs.get("name") or name,
        "latestVersion": 1,
        "arn": _arn("ec2", region, f"launch-template/lt-{name}"),
    }


AWS_OUTPUTS: dict[str, Outputs] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:kms/key:Key": _kms_key,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
}


def aws_outputs(
    type_token: str, name: str, inputs: Mapping[str, Any], region: str
) -> dict[str, Any]:
    """Placeholder outputs of one AWS resource (`arn` for any type without a rule)."""
    outputs = AWS_OUTPUTS.get(type_token)
    if outputs is not None:
        return outputs(name, inputs, region)
    service = type_token.split(":")[1].split("/", maxsplit=1)[0]
    return {"arn": _arn(service, region, f"{type_token.rsplit(':', 1)[-1].lower()}/{name}")}


# ---------------------------------------------------------------------------------------
# Azure (azure-native): resource IDs shaped as Azure Resource Manager gives them
# (`/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>...`),
# in a placeholder subscription; the GUIDs of an identity derive from its name.

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
_PLACEHOLDER_GUIDS = uuid.UUID("5f8c1f3e-0000-4000-8000-706c696e7468")  # namespace only


def _guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_PLACEHOLDER_GUIDS, f"{kind}/{name}"))


def _group_id(inputs: Mapping[str, Any]) -> str:
    group = inputs.get("resourceGroupName", "")
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}"


def _account_id(inputs: Mapping[str, Any]) -> str:
    account = inputs.get("accountName", "")
    return f"{_group_id(inputs)}/providers/Microsoft.Storage/storageAccounts/{account}"


def _identity_id(name: str) -> str:
    return f"providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


def _storage_account(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": _account_id(inputs), "name": inputs.get("accountName") or name}


def _blob_services(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    del name
    return {"id": f"{_account_id(inputs)}/blobServices/default", "name": "default"}


def _blob_container(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    container = inputs.get("containerName") or name
    account = _account_id(inputs)
    return {"id": f"{account}/blobServices/default/containers/{container}", "name": container}


def _user_assigned_identity(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    identity = inputs.get("resourceName") or name
    return {
        "id": f"{_group_id(inputs)}/{_identity_id(identity)}",
        "name": identity,
        "clientId": _guid("client", identity),
        "principalId": _guid("principal", identity),
        "tenantId": _guid("tenant", "plinth"),
    }


def _federated_credential(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    credential = inputs.get("federatedIdentityCredentialResourceName") or name
    identity = f"{_group_id(inputs)}/{_identity_id(inputs.get('resourceName', ''))}"
    return {"id": f"{identity}/federatedIdentityCredentials/{credential}", "name": credential}


def _role_assignment(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    assignment = inputs.get("roleAssignmentName") or _guid("role-assignment", name)
    scope = inputs.get("scope", "")
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
        "name": assignment,
    }


def _lock(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    lock = inputs.get("lockName") or name
    scope = inputs.get("scope", "")
    return {"id": f"{scope}/providers/Microsoft.Authorization/locks/{lock}", "name": lock}


AzureOutputs = Callable[[str, Mapping[str, Any]], dict[str, Any]]

AZURE_OUTPUTS: dict[str, AzureOutputs] = {
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:storage:BlobServiceProperties": _blob_services,
    "azure-native:storage:BlobContainer": _blob_container,
    "azure-native:managedidentity:UserAssignedIdentity": _user_assigned_identity,
    "azure-native:managedidentity:FederatedIdentityCredential": _federated_credential,
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:authorization:ManagementLockByScope": _lock,
}


def azure_outputs(type_token: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Placeholder outputs of one azure-native resource (`id` and `name`; nothing for a
    type without a rule)."""
    outputs = AZURE_OUTPUTS.get(type_token)
    return outputs(name, inputs) if outputs is not None else {}
