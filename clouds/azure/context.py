"""What every Azure component receives: the provider to create through, the environment's
resource group and location, and its rules for resources that hold data.

The azure-native SDK is not imported here: a component imports the submodules it uses
(`pulumi_azure_native.storage`, ...), so loading this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pulumi

from clouds.context import CloudContext


@dataclass(frozen=True)
class AzureContext(CloudContext):
    """The azure-native provider of one environment, the resource group its resources go
    in, and whether resources holding data are protected (prod)."""

    provider: pulumi.ProviderResource
    location: str
    """The Azure region, e.g. `westeurope`."""
    resource_group_name: pulumi.Output[str]
    protect_stateful: bool
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The environment's ownership tags, for every resource that takes tags."""


@dataclass(frozen=True)
class AzureCloud:
    """What a cluster built on Azure (aks target) brings to components that use Azure
    services: the environment's Azure context and the cluster's OIDC issuer, which
    federated identity credentials trust (workload identity)."""

    context: AzureContext
    oidc_issuer_url: pulumi.Output[str]
    """The AKS cluster's `oidcIssuerProfile.issuerURL`."""
