"""Deterministic stand-ins for the outputs only a cloud provider would assign.

The program reads some outputs to build other resources: a bucket's ARN for its policy, the
cluster's OIDC issuer for trust policies, a node group's Auto Scaling group for the
autoscaler's tags. Under mocks nothing assigns them, so each is derived here from the
resource's name and inputs: the same on every run and every machine, and shaped like the
real value (ARN formats from the AWS service authorization reference) so that policy
rules judge the plan as they would judge the real thing.
"""

from __future__ import annotations

import base64
import json
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
        # The security group EKS creates for the control plane and managed nodes.
        "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{cluster}"},
    }


def _node_group(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    node_group = inputs.get("nodeGroupName") or name
    return {
        "nodeGroupName": node_group,
        "arn": _arn("eks", region, f"nodegroup/{inputs.get('clusterName', '')}/{node_group}/id"),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{node_group}-placeholder"}]}],
    }


def _rds_instance(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    identifier = inputs.get("identifier") or name
    address = f"{identifier}.placeholder.{region}.rds.amazonaws.com"
    return {
        "identifier": identifier,
        "address": address,
        "port": 5432,
        "endpoint": f"{address}:5432",
        "arn": _arn("rds", region, f"db:{identifier}"),
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
    "aws:rds/instance:Instance": _rds_instance,
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


# Azure: resource IDs and the outputs Azure assigns, from the resource's inputs.
AZURE_PROVIDER = "pulumi:providers:azure-native"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
DEFAULT_LOCATION = "westeurope"
LIST_USER_CREDENTIALS = "azure-native:containerservice:listManagedClusterUserCredentials"

# type -> (resource provider, the path below it: (collection, the input holding that
# segment's name, or "=<fixed name>") from the outermost parent to the resource itself).
AzurePath = tuple[tuple[str, str], ...]
_AZURE_IDS: dict[str, tuple[str, AzurePath]] = {
    "azure-native:network:VirtualNetwork": (
        "Microsoft.Network",
        (("virtualNetworks", "virtualNetworkName"),),
    ),
    "azure-native:network:Subnet": (
        "Microsoft.Network",
        (("virtualNetworks", "virtualNetworkName"), ("subnets", "subnetName")),
    ),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService",
        (("managedClusters", "resourceName"),),
    ),
    "azure-native:containerservice:AgentPool": (
        "Microsoft.ContainerService",
        (("managedClusters", "resourceName"), ("agentPools", "agentPoolName")),
    ),
    "azure-native:containerservice:MaintenanceConfiguration": (
        "Microsoft.ContainerService",
        (("managedClusters", "resourceName"), ("maintenanceConfigurations", "configName")),
    ),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity",
        (("userAssignedIdentities", "resourceName"),),
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "Microsoft.ManagedIdentity",
        (
            ("userAssignedIdentities", "resourceName"),
            ("federatedIdentityCredentials", "federatedIdentityCredentialResourceName"),
        ),
    ),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights",
        (("workspaces", "workspaceName"),),
    ),
    "azure-native:storage:StorageAccount": (
        "Microsoft.Storage",
        (("storageAccounts", "accountName"),),
    ),
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage",
        (("storageAccounts", "accountName"), ("blobServices", "=default")),
    ),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage",
        (
            ("storageAccounts", "accountName"),
            ("blobServices", "=default"),
            ("containers", "containerName"),
        ),
    ),
}
# Extension resources: an ID below the `scope` they apply to.
_SCOPE_PROVIDER = "Microsoft.Authorization"
_SCOPED_IDS: dict[str, tuple[str, str]] = {
    "azure-native:authorization:RoleAssignment": ("roleAssignments", "roleAssignmentName"),
    "azure-native:authorization:ManagementLockByScope": ("locks", "lockName"),
}


def _placeholder_guid(text: str) -> str:
    """A GUID-shaped placeholder derived from `text` (never a real identity)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"plinth-placeholder:{text}"))


def azure_outputs(
    kind: str, name: str, inputs: Mapping[str, Any], subscription: str, location: str
) -> dict[str, Any]:
    """Placeholder outputs of one azure-native resource: its ARM `id` and `name`, and what
    the program reads of a cluster (OIDC issuer, FQDN) or an identity (principal)."""
    group = str(inputs.get("resourceGroupName", ""))
    base = f"/subscriptions/{subscription}/resourceGroups/{group}"
    if kind == "azure-native:resources:ResourceGroup":
        resource_name = str(inputs.get("resourceGroupName") or name)
        return {
            "id": f"/subscriptions/{subscription}/resourceGroups/{resource_name}",
            "name": resource_name,
        }
    resource_id, resource_name = _azure_id(kind, name, inputs, base)
    outputs: dict[str, Any] = {"id": resource_id, "name": resource_name}
    if kind == "azure-native:containerservice:ManagedCluster":
        cluster = _placeholder_guid(f"{subscription}/{group}/{resource_name}")
        outputs |= {
            "fqdn": f"{resource_name}-placeholder.hcp.{location}.azmk8s.io",
            # Azure answers the identities as a map of resource ID -> identity.
            "identity": _cluster_identity(inputs),
            "oidcIssuerProfile": {
                **dict(inputs.get("oidcIssuerProfile") or {}),
                "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{cluster}/",
            },
        }
    elif kind == "azure-native:managedidentity:UserAssignedIdentity":
        outputs |= {
            "principalId": _placeholder_guid(f"principal/{outputs['id']}"),
            "clientId": _placeholder_guid(f"client/{outputs['id']}"),
            "tenantId": TENANT_ID,
        }
    return outputs


def _azure_id(kind: str, name: str, inputs: Mapping[str, Any], base: str) -> tuple[str, str]:
    """The ARM ID and name of a resource of type `kind` in the resource group at `base`."""
    scoped = _SCOPED_IDS.get(kind)
    if scoped is not None:
        collection, name_input = scoped
        # These names are GUIDs (a role assignment's) or free text (a lock's).
        resource_name = str(inputs.get(name_input) or _placeholder_guid(f"{kind}/{name}"))
        return (
            f"{inputs.get('scope', '')}/providers/{_SCOPE_PROVIDER}/{collection}/{resource_name}",
            resource_name,
        )
    shape = _AZURE_IDS.get(kind)
    if shape is None:  # a type without its own shape: `<module>/<Type>/<name>`
        module, type_name = kind.split(":")[1], kind.rsplit(":", 1)[-1]
        return f"{base}/providers/Microsoft.{module}/{type_name}/{name}", name
    namespace, segments = shape
    path = f"{base}/providers/{namespace}"
    resource_name = name
    for collection, name_input in segments:
        resource_name = (
            name_input[1:] if name_input.startswith("=") else str(inputs.get(name_input) or name)
        )
        path += f"/{collection}/{resource_name}"
    return path, resource_name


def _cluster_identity(inputs: Mapping[str, Any]) -> dict[str, Any]:
    identity = dict(inputs.get("identity") or {})
    identity["userAssignedIdentities"] = {
        str(resource_id): {
            "principalId": _placeholder_guid(f"principal/{resource_id}"),
            "clientId": _placeholder_guid(f"client/{resource_id}"),
        }
        for resource_id in identity.get("userAssignedIdentities") or []
    }
    return identity


def user_credentials(arguments: Mapping[str, Any], location: str) -> dict[str, Any]:
    """What listManagedClusterUserCredentials answers for a cluster: one kubeconfig
    (base64) for its API server, with a placeholder certificate authority."""
    cluster = str(arguments.get("resourceName", ""))
    server = f"https://{cluster}-placeholder.hcp.{location}.azmk8s.io:443"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": "cGxhY2Vob2xkZXItY2E="},
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": "clusterUser"}}],
        "current-context": cluster,
        "users": [{"name": "clusterUser", "user": {}}],
    }
    value = base64.b64encode(json.dumps(document, sort_keys=True).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}
