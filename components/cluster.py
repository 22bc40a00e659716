"""The cluster handle every component receives, whatever target built it.

A target (`targets/`: existing, eks, aks) turns its configuration into a
`Cluster`: the Kubernetes provider to deploy through and the facts components need to
render correct objects (Kubernetes version, how GPU nodes are tainted and labelled,
storage classes, the labels every object carries). Components never look at the target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components.stateful import data_options

if TYPE_CHECKING:
    from clouds.aws.context import AwsCloud
    from clouds.azure.context import AzureCloud

GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class Taint:
    """A node taint; pods tolerate it with `toleration()`."""

    key: str
    value: str
    effect: str

    def toleration(self) -> dict[str, str]:
        """The pod toleration that matches exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class GpuScheduling:
    """How pods reach GPU nodes: the nodes' taint and the labels that select them."""

    taint: Taint
    node_selector: Mapping[str, str]
    also_tolerated: tuple[Taint, ...] = ()
    """Other taints some GPU nodes carry, which GPU pods tolerate too (on AKS, spot pools'
    `kubernetes.azure.com/scalesetpriority=spot:NoSchedule`)."""

    def tolerations(self) -> list[dict[str, str]]:
        """The tolerations a pod needs on every GPU node: the GPU taint's first."""
        return [taint.toleration() for taint in (self.taint, *self.also_tolerated)]

    def pod_placement(self) -> dict[str, object]:
        """`nodeSelector` and `tolerations` for a pod spec that must land on a GPU node."""
        return {
            "nodeSelector": dict(sorted(self.node_selector.items())),
            "tolerations": self.tolerations(),
        }


def platform_labels_transform(
    labels: Mapping[str, str],
) -> Callable[[pulumi.ResourceTransformArgs], pulumi.ResourceTransformResult | None]:
    """A transform adding `labels` to a Kubernetes object's metadata (its own win)."""
    fixed = dict(sorted(labels.items()))

    def add_platform_labels(
        args: pulumi.ResourceTransformArgs,
    ) -> pulumi.ResourceTransformResult | None:
        props = args.props
        if not args.custom or not isinstance(props, Mapping) or "kind" not in props:
            return None
        metadata = dict(props.get("metadata") or {})
        metadata["labels"] = dict(sorted({**fixed, **(metadata.get("labels") or {})}.items()))
        return pulumi.ResourceTransformResult(props={**props, "metadata": metadata}, opts=args.opts)

    return add_platform_labels


# Plinth's own GPU node convention: what EKS and AKS node pools carry, and the `existing` target's
# default (plinth:cluster.gpu overrides it there).
GPU_TAINT = Taint(GPU_RESOURCE, "true", "NoSchedule")
GPU_NODE_LABELS: Mapping[str, str] = MappingProxyType({"plinth.io/accelerator": "nvidia"})


@dataclass(frozen=True)
class ScrapeTarget:
    """Pods the target runs before any component deploys (the EKS cluster-autoscaler) whose
    metrics the monitoring component scrapes, with a PodMonitor it creates for them."""

    name: str
    namespace: str
    pod_labels: Mapping[str, str]
    port: str
    """The name of the container port that serves metrics."""
    path: str = "/metrics"


@dataclass(frozen=True)
class Cluster:
    """A Kubernetes cluster ready to receive components.

    `provider` is the Kubernetes provider every child resource uses; `gpu` is None when
    the environment declares no GPU node pool. `protect_stateful` is true where losing data
    is not acceptable (prod): components pass it as `protect` on every resource that holds
    data, so `pulumi up` refuses to delete or replace one until someone unprotects it.
    """

    name: str
    provider: k8s.Provider
    kubernetes_version: str
    default_storage_class: str
    gpu: GpuScheduling | None
    protect_stateful: bool
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    aws: AwsCloud | None = None
    """What the cluster brings from AWS (eks target) to components that use AWS services."""
    azure: AzureCloud | None = None
    """What the cluster brings from Azure (aks target) to components that use Azure services."""
    scrape_targets: tuple[ScrapeTarget, ...] = ()
    """Metrics endpoints of what the target deploys itself (monitoring scrapes them)."""

    def resource_options(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a component's children: parented to it, deployed to this cluster."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider)

    def stateful_options(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a child that holds data: those of `resource_options`, protected and
        kept on delete where the environment's rule says so (components/stateful.py)."""
        return pulumi.ResourceOptions.merge(
            self.resource_options(parent), data_options(self.protect_stateful)
        )

    def chart_options(
        self, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
    ) -> pulumi.ResourceOptions:
        """Options for a Helm chart: those of `resource_options`, `depends_on`, and a
        transform that gives every object the chart renders the platform labels.

        Charts differ in whether their values can label every object (the NVIDIA device
        plugin's only way would change its immutable selector); a transform on the Chart is
        applied by the engine to each object it renders, whatever the chart.
        """
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            depends_on=list(depends_on),
            transforms=[platform_labels_transform(self.labels)],
        )

    def metadata(
        self, name: str, namespace: str | None = None, **labels: str
    ) -> k8s.meta.v1.ObjectMetaArgsDict:
        """Object metadata carrying the platform labels plus `labels`."""
        merged = {**self.labels, **labels}
        metadata: k8s.meta.v1.ObjectMetaArgsDict = {
            "name": name,
            "labels": dict(sorted(merged.items())),
        }
        if namespace is not None:
            metadata["namespace"] = namespace
        return metadata
