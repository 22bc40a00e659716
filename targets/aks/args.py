"""Settings of the `aks` target (`plinth:cluster` with `target: aks`): pydantic only, no
cloud SDK."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.args import SECRET_CAPABLE, FrozenModel
from targets.eks.args import ipv4_network

GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AZURE_LOCATION = r"^[a-z][a-z0-9]+$"

# Versions AKS offers (standard or long-term support) that Plinth validates objects against.
AKS_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35")

# The StorageClass every AKS cluster with the Azure Disk CSI driver has: Standard SSD,
# zone-redundant where the region allows, WaitForFirstConsumer.
DEFAULT_STORAGE_CLASS = "managed-csi"

Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class MaintenanceWindow(FrozenModel):
    """When AKS may upgrade the cluster (its auto-upgrade channel): weekly, in UTC."""

    day_of_week: Weekday = Field("Sunday", description="Day of the weekly window.")
    start_time: str = Field(
        "02:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Start, HH:MM UTC."
    )
    duration_hours: int = Field(
        4, ge=4, le=24, description="Length of the window; AKS needs at least 4 hours."
    )


class AksClusterArgs(FrozenModel):
    """An AKS cluster Plinth creates, with its resource group and virtual network."""

    target: Literal["aks"] = Field(description="Which target builds the cluster.")
    subscription_id: str = Field(
        pattern=GUID,
        description="The Azure subscription (GUID) the environment's resources are created in.",
    )
    location: str = Field(pattern=AZURE_LOCATION, description="Azure region, e.g. westeurope.")
    availability_zones: tuple[Literal["1", "2", "3"], ...] = Field(
        ("1", "2", "3"),
        max_length=3,
        description=(
            "Zones of `location` every node pool spreads over, e.g. ['1', '2', '3']; empty "
            "for a region without zones. `plinth preflight` checks each VM size is offered "
            "in each."
        ),
    )
    kubernetes_version: Literal[AKS_KUBERNETES_VERSIONS] = Field(  # type: ignore[valid-type]
        "1.34",
        description=(
            "Pinned control-plane and node minor version; raising it upgrades the cluster in "
            "place (one minor at a time). AKS picks the latest patch of the minor."
        ),
    )
    sku_tier: Literal["Free", "Standard", "Premium"] = Field(
        "Standard",
        description=(
            "Control-plane tier: 'Standard' has the uptime SLA and scales the API server "
            "(production); 'Free' has neither; 'Premium' adds long-term support."
        ),
    )
    vnet_cidr: str = Field(
        "10.224.0.0/16",
        description=(
            "IPv4 range of the virtual network, /16 to /22: its first half is the node "
            "subnet, its last /28 the API server subnet. Pods get overlay addresses from "
            "pod_cidr, not from here. Changing it replaces the network and cluster."
        ),
    )
    pod_cidr: str = Field(
        "192.168.0.0/16",
        description="Azure CNI overlay pod range; must not overlap vnet_cidr or service_cidr.",
    )
    service_cidr: str = Field(
        "10.0.0.0/16", description="Kubernetes Service range; must not overlap vnet_cidr."
    )
    dns_service_ip: str = Field(
        "10.0.0.10", description="CoreDNS Service address, inside service_cidr."
    )
    private_cluster: bool = Field(
        False,
        description=(
            "The API server has only a private endpoint in the virtual network (reach it "
            "from inside: VPN, peered network, CI runners there). The prod tier turns it on."
        ),
    )
    api_server_vnet_integration: bool = Field(
        False,
        description=(
            "Project the API server into a delegated subnet of the virtual network (API "
            "Server VNet Integration), so nodes reach it without a tunnel."
        ),
    )
    authorized_ip_ranges: tuple[str, ...] = Field(
        (),
        description=(
            "IPv4 CIDRs allowed to reach a public API server; empty allows any address. "
            "Not with private_cluster. Stay secret when plinth:cluster is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    admin_group_object_ids: tuple[str, ...] = Field(
        description=(
            "Microsoft Entra group object IDs whose members are cluster admins (Azure RBAC "
            "for Kubernetes decides the rest); at least one: local accounts are disabled, "
            "so the identity running `pulumi up` must be in one. Stay secret when "
            "plinth:cluster is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    upgrade_channel: Literal["none", "patch", "stable", "rapid", "node-image"] = Field(
        "patch",
        description=(
            "AKS auto-upgrade channel: 'patch' keeps the pinned minor on its latest patch; "
            "'stable'/'rapid' also move the minor (and so leave kubernetes_version behind); "
            "'none' upgrades only when kubernetes_version changes."
        ),
    )
    node_os_upgrade_channel: Literal["None", "Unmanaged", "SecurityPatch", "NodeImage"] = Field(
        "NodeImage",
        description="How node OS images are kept current: 'NodeImage' reimages weekly.",
    )
    maintenance_window: MaintenanceWindow = Field(
        default_factory=MaintenanceWindow,
        description="When the auto-upgrade channels may act.",
    )
    container_insights: bool = Field(
        False,
        description=(
            "Send container logs and metrics to a Log Analytics workspace Plinth creates "
            "(Azure Monitor Container Insights, monitoring add-on with Entra ID auth)."
        ),
    )
    log_retention_days: int = Field(
        30, ge=30, le=730, description="Days the Log Analytics workspace keeps its data."
    )

    @field_validator("vnet_cidr")
    @classmethod
    def _vnet_size(cls, value: str) -> str:
        network = ipv4_network("vnet_cidr", value)
        if not 16 <= network.prefixlen <= 22:
            raise ValueError(f"vnet_cidr {value} is a /{network.prefixlen}; use a /16 to /22")
        return value

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        ipv4_network("pod_cidr/service_cidr", value)
        return value

    @field_validator("authorized_ip_ranges")
    @classmethod
    def _ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipv4_network("authorized_ip_ranges entry", cidr)
        return value

    @field_validator("admin_group_object_ids")
    @classmethod
    def _groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for group in value:
            if not re.fullmatch(GUID, group):
                raise ValueError(
                    f"admin_group_object_ids entry {group!r} is not an Entra object ID (a GUID "
                    "such as 00000000-0000-0000-0000-000000000000)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AksClusterArgs:
        if self.authorized_ip_ranges and self.private_cluster:
            raise ValueError(
                "authorized_ip_ranges is set but private_cluster is true: a private API "
                "server has no public address to restrict; remove authorized_ip_ranges or set "
                "private_cluster to false"
            )
        if not self.admin_group_object_ids:
            raise ValueError(
                "admin_group_object_ids is empty: local accounts are disabled, so nobody "
                "could deploy to the cluster; list the Entra group of the people and "
                "pipelines that run pulumi up, e.g. [00000000-0000-0000-0000-000000000000]"
            )
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError(
                f"availability_zones {list(self.availability_zones)} repeats a zone: list each "
                "of 1, 2, 3 at most once"
            )
        ranges = {
            "vnet_cidr": ipaddress.IPv4Network(self.vnet_cidr),
            "pod_cidr": ipaddress.IPv4Network(self.pod_cidr),
            "service_cidr": ipaddress.IPv4Network(self.service_cidr),
        }
        names = sorted(ranges)
        for index, first in enumerate(names):
            for second in names[index + 1 :]:
                if ranges[first].overlaps(ranges[second]):
                    raise ValueError(
                        f"{first} {ranges[first]} overlaps {second} {ranges[second]}: "
                        "choose ranges that do not overlap"
                    )
        if ipaddress.IPv4Address(self.dns_service_ip) not in ranges["service_cidr"]:
            raise ValueError(
                f"dns_service_ip {self.dns_service_ip} is outside service_cidr "
                f"{self.service_cidr}: pick an address inside it (e.g. its .10)"
            )
        return self

    @property
    def node_subnet_cidr(self) -> str:
        """The node subnet: the first half of the virtual network."""
        network = ipaddress.IPv4Network(self.vnet_cidr)
        return str(next(network.subnets(prefixlen_diff=1)))

    @property
    def api_server_subnet_cidr(self) -> str:
        """The API server subnet (VNet integration): the network's last /28."""
        network = ipaddress.IPv4Network(self.vnet_cidr)
        return str(list(network.subnets(new_prefix=28))[-1])
