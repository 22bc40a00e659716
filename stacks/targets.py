"""Target dispatch: turns `plinth:cluster` into a `Cluster`, whatever builds it."""

from __future__ import annotations

from components.cluster import Cluster
from stacks import existing
from stacks.config import PlatformConfig


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
    """The cluster of `config.cluster.target`; only `existing` is implemented so far."""
    return existing.connect(
        environment,
        config,
        platform_labels(environment, config),
        protect_stateful=protects_stateful(config),
    )
