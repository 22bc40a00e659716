"""Target dispatch: turns `plinth:cluster` into a `Cluster`, whatever builds it."""

from __future__ import annotations

from components.cluster import Cluster
from stacks import existing
from stacks.config import ExistingCluster, PlatformConfig


def platform_labels(environment: str, config: PlatformConfig) -> dict[str, str]:
    """The labels every Kubernetes object of the environment carries."""
    return {
        "app.kubernetes.io/part-of": "plinth",
        "plinth.io/environment": environment,
        "plinth.io/tier": config.tier,
        "plinth.io/owner": config.ownership.owner,
        "plinth.io/cost-centre": config.ownership.cost_centre,
    }


def protects_stateful(config: PlatformConfig) -> bool:
    """Whether resources holding data are protected: in prod, losing them is never routine."""
    return config.tier == "prod"


def connect_cluster(environment: str, config: PlatformConfig) -> Cluster:
    """The cluster of `config.cluster.target`."""
    if not isinstance(config.cluster, ExistingCluster):
        raise NotImplementedError("the eks target is being built")
    return existing.connect(
        environment,
        config.cluster,
        config,
        platform_labels(environment, config),
        protect_stateful=protects_stateful(config),
    )
