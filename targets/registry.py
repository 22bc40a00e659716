"""The cluster targets: `plinth:cluster.target` -> the function that builds the cluster.

A target turns its settings into a `Cluster` (components/cluster.py): the Kubernetes
provider and the facts components need. It builds whatever the cluster needs around it
(on eks: the VPC, the control plane, the node pools, the autoscaler; on aks: the resource
group, the virtual network, the managed cluster and its agent pools) and nothing else:
every platform component deploys through the registry (components/registry.py), on every
target alike. A target's SDK is imported only when that target builds.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from components.stateful import protects_data

if TYPE_CHECKING:
    from components.cluster import Cluster
    from stacks.config import PlatformConfig

# target -> module whose `build(environment, config, labels, protect_stateful)` builds it.
TARGETS = {
    "existing": "targets.existing.target",
    "eks": "targets.eks.target",
    "aks": "targets.aks.target",
}
BuildFunction = Callable[[str, "PlatformConfig", dict[str, str], bool], "Cluster"]


def platform_labels(environment: str, config: PlatformConfig) -> dict[str, str]:
    """The labels every Kubernetes object of the environment carries."""
    return {
        "app.kubernetes.io/part-of": "plinth",
        "plinth.io/environment": environment,
        "plinth.io/tier": config.tier,
        "plinth.io/owner": config.ownership.owner,
        "plinth.io/cost-centre": config.ownership.cost_centre,
    }


def ownership_tags(environment: str, config: PlatformConfig) -> dict[str, str]:
    """The tags every cloud resource of the environment carries (the policy pack's
    cloud-required-tags keys), on AWS and on Azure alike."""
    return {
        "cost-centre": config.ownership.cost_centre,
        "environment": environment,
        "managed-by": "plinth",
        "owner": config.ownership.owner,
        "tier": config.tier,
    }


def build_cluster(environment: str, config: PlatformConfig) -> Cluster:
    """The cluster of `config.cluster.target`, checked against the configuration's facts."""
    build: BuildFunction = import_module(TARGETS[config.cluster.target]).build
    cluster = build(
        environment, config, platform_labels(environment, config), protects_data(config.tier)
    )
    if (cluster.gpu is not None) != config.facts.gpu_nodes:  # pragma: no cover (target bug)
        raise RuntimeError(
            f"target {config.cluster.target} disagrees with the configuration about GPU nodes"
        )
    return cluster
