"""The `existing` target: a cluster Plinth does not create (on-prem, kind, k3d, minikube).

It is reached through a kubeconfig context. Nothing about it is discovered at deploy time:
its Kubernetes version and how its GPU nodes are labelled and tainted come from config,
so the plan is the same with or without access to the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_kubernetes as k8s

from components.cluster import Cluster, GpuScheduling, Taint
from components.secrets import keep_secret
from stacks.config import PlatformConfig
from stacks.migrations import component_options
from targets.existing.args import ExistingCluster


def build(
    name: str, config: PlatformConfig, labels: Mapping[str, str], protect_stateful: bool
) -> Cluster:
    """The cluster of the kubeconfig context named in `plinth:cluster`."""
    settings = config.cluster
    if not isinstance(settings, ExistingCluster):  # pragma: no cover (targets/registry.py)
        raise TypeError("the existing target needs plinth:cluster.target: existing")
    provider = k8s.Provider(
        f"{name}-existing",
        context=keep_secret(settings.context, settings),
        kubeconfig=keep_secret(settings.kubeconfig, settings),
        opts=component_options(f"{name}-existing"),
    )
    gpu = None
    if config.gpu_pools:
        gpu = GpuScheduling(
            taint=Taint(settings.gpu.taint_key, settings.gpu.taint_value, "NoSchedule"),
            node_selector=dict(settings.gpu.node_selector),
        )
    return Cluster(
        name=name,
        provider=provider,
        kubernetes_version=settings.kubernetes_version,
        default_storage_class=settings.default_storage_class,
        gpu=gpu,
        protect_stateful=protect_stateful,
        labels=labels,
    )
