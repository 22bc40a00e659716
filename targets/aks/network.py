"""The virtual network of an AKS cluster: a node subnet, and a subnet delegated to AKS for
the API server where API Server VNet Integration is on.

Pods do not take addresses from the network: Azure CNI overlay gives them addresses from
`pod_cidr`, so the node subnet only needs one address per node. Nodes get no public IP
addresses; outbound traffic leaves through the cluster's standard load balancer.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network

from clouds.azure.context import AzureContext
from targets.aks.args import AksClusterArgs

API_SERVER_DELEGATION = "Microsoft.ContainerService/managedClusters"


class Network(pulumi.ComponentResource):
    """The virtual network and subnets the cluster's nodes (and API server) live in."""

    api_server_subnet_id: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: AksClusterArgs,
        *,
        azure_context: AzureContext,
        network_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:azure:Network", name, None, opts)
        self.virtual_network = network.VirtualNetwork(
            name,
            resource_group_name=azure_context.resource_group_name,
            virtual_network_name=network_name,
            location=azure_context.location,
            address_space={"address_prefixes": [args.vnet_cidr]},
            tags=dict(sorted(azure_context.tags.items())),
            # The subnets are their own resources below; an update of the network must not
            # remove them (azure-native sends the network's whole body on update).
            opts=azure_context.options(self, ignore_changes=["subnets"]),
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=azure_context.resource_group_name,
            virtual_network_name=self.virtual_network.name,
            subnet_name="nodes",
            address_prefix=args.node_subnet_cidr,
            # Outbound through the cluster's load balancer, never a default route to the
            # internet from a subnet without one (Azure retires implicit outbound access).
            default_outbound_access=False,
            opts=azure_context.options(self),
        )
        self.subnet_ids: list[pulumi.Output[str]] = [self.node_subnet.id]
        self.api_server_subnet_id = None
        if args.api_server_vnet_integration:
            api_server_subnet = network.Subnet(
                f"{name}-api-server",
                resource_group_name=azure_context.resource_group_name,
                virtual_network_name=self.virtual_network.name,
                subnet_name="api-server",
                address_prefix=args.api_server_subnet_cidr,
                delegations=[{"name": "aks", "service_name": API_SERVER_DELEGATION}],
                default_outbound_access=False,
                opts=azure_context.options(self, depends_on=[self.node_subnet]),
            )
            self.api_server_subnet_id = api_server_subnet.id
            self.subnet_ids.append(api_server_subnet.id)
        self.register_outputs({"virtual_network": self.virtual_network.name})
