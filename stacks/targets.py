"""Target dispatch: turns `plinth:cluster` into a `Target`, whatever builds the cluster."""

from __future__ import annotations

from typing import Protocol

from components.cluster import Cluster
from components.jobs_namespace import JobsNamespace
from stacks import existing
from stacks.config import ExistingCluster, PlatformConfig


class Target(Protocol):
    """A built cluster target: the cluster to deploy onto, and what it adds to jobs."""

    @property
    def cluster(self) -> Cluster:
        """The cluster every Kubernetes component deploys onto."""
        ...

    def attach_jobs(self, jobs: JobsNamespace) -> None:
        """Give the jobs namespace what the target provides (e.g. object storage volumes)."""
        ...


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


def build_target(environment: str, config: PlatformConfig) -> Target:
    """The target of `config.cluster.target`; the AWS SDK is imported only for `eks`."""
    labels = platform_labels(environment, config)
    protect = protects_stateful(config)
    if isinstance(config.cluster, ExistingCluster):
        return existing.connect(
            environment, config.cluster, config, labels, protect_stateful=protect
        )
    from stacks import eks  # noqa: PLC0415 (pulumi_aws costs ~0.9 s to import)

    return eks.build(environment, config.cluster, config, labels, protect_stateful=protect)
