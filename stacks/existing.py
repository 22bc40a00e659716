"""The `existing` target: a cluster Plinth does not create (on-prem, kind, k3d, minikube).

It is reached through a kubeconfig context. Nothing about it is discovered at deploy time:
its Kubernetes version and how its GPU nodes are labelled and tainted come from config,
so the plan is the same with or without access to the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi_kubernetes as k8s

from components.cluster import Cluster, GpuScheduling, Taint
from components.jobs_namespace import JobsNamespace
from components.secrets import keep_secret
from stacks.config import ExistingCluster, PlatformConfig


@dataclass(frozen=True)
class ExistingTarget:
    """A cluster reached through a kubeconfig; it brings nothing else."""

    cluster: Cluster

    def attach_jobs(self, jobs: JobsNamespace) -> None:
        """Nothing to attach: jobs share data through the jobs namespace's own volumes."""
        del jobs


def connect(
    name: str,
    settings: ExistingCluster,
    config: PlatformConfig,
    labels: Mapping[str, str],
    *,
    protect_stateful: bool,
) -> ExistingTarget:
    """The cluster of the kubeconfig context named in `plinth:cluster`."""
    provider = k8s.Provider(
        f"{name}-existing",
        context=keep_secret(settings.context, settings),
        kubeconfig=keep_secret(settings.kubeconfig, settings),
    )
    gpu = None
    if config.gpu_pools:
        gpu = GpuScheduling(
            taint=Taint(settings.gpu.taint_key, settings.gpu.taint_value, "NoSchedule"),
            node_selector=dict(settings.gpu.node_selector),
        )
    cluster = Cluster(
        name=name,
        provider=provider,
        kubernetes_version=settings.kubernetes_version,
        default_storage_class=settings.default_storage_class,
        gpu=gpu,
        protect_stateful=protect_stateful,
        labels=labels,
    )
    return ExistingTarget(cluster)
