"""An AKS managed cluster: its control-plane identity, the cluster with its inline System
pool, the maintenance windows of its auto-upgrade channels, optional Container Insights,
and the Kubernetes provider that reaches it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import (
    authorization,
    containerservice,
    managedidentity,
    operationalinsights,
)

from clouds.azure.context import AzureCloud, AzureContext
from components.cluster import GPU_NODE_LABELS, GPU_TAINT, Cluster, GpuScheduling
from components.secrets import keep_secret
from targets.aks.args import DEFAULT_STORAGE_CLASS, AksClusterArgs
from targets.aks.network import Network
from targets.aks.node_pool import SPOT_TAINT

# Built-in role "Network Contributor": the control plane joins nodes and load balancers to
# the subnets it does not own.
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# The Entra ID application of the AKS API server: the audience kubelogin asks tokens for.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
# Deterministic role assignment names (they must be GUIDs) from what they grant.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("7f2a4e1c-9b0d-4c36-8d6e-2f5b1a9c3e70")


def role_assignment_name(*parts: str) -> str:
    """A stable GUID naming one role assignment, from what it grants to whom."""
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, "/".join(parts)))


def kubeconfig(user_kubeconfig: str, cluster_name: str) -> str:
    """A kubeconfig for the cluster's API server (from the user kubeconfig AKS lists) that
    signs in through kubelogin with the Azure CLI's login, as whoever runs Pulumi: local
    accounts are off, so only Entra ID tokens open the API."""
    listed = yaml.safe_load(user_kubeconfig)
    server = listed["clusters"][0]["cluster"]
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID],
            "interactiveMode": "Never",
        }
    }
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": server["server"],
                    "certificate-authority-data": server["certificate-authority-data"],
                },
            }
        ],
        "contexts": [
            {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
        ],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": user}],
    }
    return json.dumps(document, sort_keys=True)


def first_kubeconfig(result: Any) -> str:
    """The text of the first kubeconfig of a listClusterUserCredential result."""
    return base64.b64decode(result.kubeconfigs[0].value).decode()


class AksCluster(pulumi.ComponentResource):
    """An AKS cluster ready for agent pools, and the `Cluster` handle to deploy to it.

    Azure CNI overlay with the Cilium dataplane and Cilium network policy; Entra ID
    integration with Azure RBAC for Kubernetes and local accounts disabled; the OIDC issuer
    and workload identity (pods federate to Azure identities); the Blob CSI driver
    (blobfuse2 volumes); a private API server or one limited to `authorized_ip_ranges`;
    auto-upgrade channels with a weekly maintenance window. The control plane runs as a
    user-assigned identity that is Network Contributor on the subnets, granted before the
    cluster exists. In prod the cluster is protected.
    """

    def __init__(
        self,
        name: str,
        args: AksClusterArgs,
        *,
        azure_context: AzureContext,
        cluster_name: str,
        network: Network,
        system_pool: Mapping[str, Any],
        labels: Mapping[str, str],
        gpu_nodes: bool,
        spot_gpu_nodes: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:azure:AksCluster", name, None, opts)
        self.azure_context = azure_context
        tags = dict(sorted(azure_context.tags.items()))
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_group_name=azure_context.resource_group_name,
            resource_name_=f"{cluster_name}-control-plane",
            location=azure_context.location,
            tags=tags,
            opts=azure_context.options(self),
        )
        grants = self._network_grants(name, args, identity, network.subnet_ids)
        control_plane_identity: containerservice.ManagedClusterIdentityArgsDict = {
            "type": containerservice.ResourceIdentityType.USER_ASSIGNED,
            "user_assigned_identities": [identity.id],
        }
        entra_id: containerservice.ManagedClusterAADProfileArgsDict = {
            "managed": True,
            "enable_azure_rbac": True,
            "admin_group_object_ids": keep_secret(list(args.admin_group_object_ids), args),
        }
        self.cluster = containerservice.ManagedCluster(
            name,
            resource_group_name=azure_context.resource_group_name,
            resource_name_=cluster_name,
            location=azure_context.location,
            dns_prefix=cluster_name,
            node_resource_group=f"{cluster_name}-nodes",
            kubernetes_version=args.kubernetes_version,
            sku={"name": "Base", "tier": args.sku_tier},
            identity=control_plane_identity,
            agent_pool_profiles=[
                cast("containerservice.ManagedClusterAgentPoolProfileArgsDict", system_pool)
            ],
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=entra_id,
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_dataplane": "cilium",
                "network_policy": "cilium",
                "pod_cidr": args.pod_cidr,
                "service_cidr": args.service_cidr,
                "dns_service_ip": args.dns_service_ip,
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            api_server_access_profile=self._api_server_access(args, network),
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            storage_profile={
                "blob_csi_driver": {"enabled": True},
                "disk_csi_driver": {"enabled": True},
                "file_csi_driver": {"enabled": True},
                "snapshot_controller": {"enabled": True},
            },
            auto_upgrade_profile={
                "upgrade_channel": args.upgrade_channel,
                "node_os_upgrade_channel": args.node_os_upgrade_channel,
            },
            addon_profiles=self._monitoring(name, args, cluster_name),
            tags=tags,
            opts=azure_context.stateful_options(
                self,
                depends_on=grants,
                # Only the System pool is inline, and only for creation: every other pool
                # is its own AgentPool, and a change of the inline profiles would send every
                # pool to "Scaling" (pulumi-azure-native #4264) or be refused for pools the
                # cluster did not create (#2719).
                ignore_changes=["agentPoolProfiles"],
                # Its name is fixed (DNS prefix, node resource group, kubeconfig): a new
                # cluster cannot exist beside the old one.
                delete_before_replace=True,
            ),
        )
        self._maintenance_windows(name, args)
        issuer_url = self.cluster.oidc_issuer_profile.apply(
            lambda profile: str(profile.issuer_url) if profile else ""
        )
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=azure_context.resource_group_name,
            resource_name=self.cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, provider=azure_context.provider),
        )
        # No credential in it (kubelogin fetches tokens), like the eks target's kubeconfig.
        user_kubeconfig: pulumi.Output[str] = credentials.apply(
            lambda result: kubeconfig(first_kubeconfig(result), cluster_name)
        )
        provider = k8s.Provider(
            name,
            kubeconfig=user_kubeconfig,
            opts=pulumi.ResourceOptions(parent=self),
        )
        gpu = None
        if gpu_nodes:
            gpu = GpuScheduling(
                taint=GPU_TAINT,
                node_selector=dict(GPU_NODE_LABELS),
                also_tolerated=(SPOT_TAINT,) if spot_gpu_nodes else (),
            )
        self.kubernetes = Cluster(
            name=name,
            provider=provider,
            kubernetes_version=args.kubernetes_version,
            default_storage_class=DEFAULT_STORAGE_CLASS,
            gpu=gpu,
            protect_stateful=azure_context.protect_stateful,
            labels=labels,
            azure=AzureCloud(azure_context, issuer_url),
        )
        self.register_outputs({"cluster_name": self.cluster.name, "oidc_issuer": issuer_url})

    def _network_grants(
        self,
        name: str,
        args: AksClusterArgs,
        identity: managedidentity.UserAssignedIdentity,
        subnet_ids: Sequence[pulumi.Output[str]],
    ) -> list[pulumi.Resource]:
        role = (
            f"/subscriptions/{args.subscription_id}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{NETWORK_CONTRIBUTOR}"
        )
        subnets = ["nodes", "api-server"][: len(subnet_ids)]
        return [
            authorization.RoleAssignment(
                f"{name}-network-{subnet}",
                role_assignment_name=role_assignment_name(name, "network-contributor", subnet),
                scope=subnet_id,
                role_definition_id=role,
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                opts=self.azure_context.options(self),
            )
            for subnet, subnet_id in zip(subnets, subnet_ids, strict=True)
        ]

    @staticmethod
    def _api_server_access(
        args: AksClusterArgs, network: Network
    ) -> containerservice.ManagedClusterAPIServerAccessProfileArgsDict:
        access: containerservice.ManagedClusterAPIServerAccessProfileArgsDict = {
            "enable_private_cluster": args.private_cluster,
        }
        if args.authorized_ip_ranges:
            access["authorized_ip_ranges"] = keep_secret(list(args.authorized_ip_ranges), args)
        if network.api_server_subnet_id is not None:
            access["enable_vnet_integration"] = True
            access["subnet_id"] = network.api_server_subnet_id
        return access

    def _monitoring(
        self, name: str, args: AksClusterArgs, cluster_name: str
    ) -> dict[str, containerservice.ManagedClusterAddonProfileArgsDict] | None:
        """The monitoring add-on sending to a Log Analytics workspace, when asked for."""
        if not args.container_insights:
            return None
        context = self.azure_context
        workspace = operationalinsights.Workspace(
            f"{name}-insights",
            resource_group_name=context.resource_group_name,
            workspace_name=f"{cluster_name}-insights",
            location=context.location,
            sku={"name": "PerGB2018"},
            retention_in_days=args.log_retention_days,
            tags=dict(sorted(context.tags.items())),
            opts=context.options(self),
        )
        return {
            "omsagent": {
                "enabled": True,
                "config": {
                    "logAnalyticsWorkspaceResourceID": workspace.id,
                    "useAADAuth": "true",
                },
            }
        }

    def _maintenance_windows(self, name: str, args: AksClusterArgs) -> None:
        """The weekly window in which AKS's auto-upgrade channels (cluster and node OS) act."""
        window = args.maintenance_window
        for config_name, channel in (
            ("aksManagedAutoUpgradeSchedule", args.upgrade_channel),
            ("aksManagedNodeOSUpgradeSchedule", args.node_os_upgrade_channel),
        ):
            if channel in ("none", "None", "Unmanaged"):
                continue
            containerservice.MaintenanceConfiguration(
                f"{name}-{config_name}",
                resource_group_name=self.azure_context.resource_group_name,
                resource_name_=self.cluster.name,
                config_name=config_name,
                maintenance_window={
                    "schedule": {
                        "weekly": {"day_of_week": window.day_of_week, "interval_weeks": 1}
                    },
                    "start_time": window.start_time,
                    "duration_hours": window.duration_hours,
                    "utc_offset": "+00:00",
                },
                opts=self.azure_context.options(self),
            )
