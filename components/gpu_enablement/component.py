"""NVIDIA GPU enablement: what makes GPU nodes schedulable (`nvidia.com/gpu`) and observed.

Two modes (`mode`), never both:

- `device-plugin` (default): the NVIDIA device plugin chart, which advertises each GPU
  node's GPUs to the kubelet as `nvidia.com/gpu`, and the DCGM exporter chart, which
  exports GPU metrics for Prometheus. The node image brings the driver and the container
  toolkit (the EKS NVIDIA AL2023 and Bottlerocket AMIs, nvkind, most on-prem GPU images).
- `gpu-operator`: the NVIDIA GPU operator: its five CRDs from the pinned release, then its
  chart with CRDs skipped. The operator runs its own device plugin and DCGM exporter, so
  the two charts above are not installed; with `driver_preinstalled: false` it also
  installs the driver and the container toolkit.

Node agents run only on GPU nodes: the cluster's GPU node selector and a toleration of its
GPU taint (`Cluster.gpu`). In gpu-operator mode the operator places its agents itself, on
the nodes node feature discovery finds an NVIDIA PCI device on; they get the taint's
toleration. Controllers (the GPU operator, node feature discovery's master) stay on
ordinary nodes, so a GPU pool can still scale to zero.

The agents use the host (device plugin sockets under /var/lib/kubelet, hostPath mounts,
root with SYS_ADMIN for profiling metrics), so their namespace enforces Pod Security
`privileged`. Inputs: `GpuEnablementArgs` and a `Cluster` whose `gpu` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs

from components import versions
from components.cluster import Cluster, GpuScheduling
from components.crds import install_crds
from components.gpu_enablement.args import (
    DCGM_EXPORTER,
    DEVICE_PLUGIN,
    ChartName,
    GpuEnablementArgs,
)
from components.merge import deep_merge
from components.pod_security import namespace_labels
from components.secrets import values_override

CRD_FILES = (
    "nvidia.com_clusterpolicies.yaml",
    "nvidia.com_gpuclusters.yaml",
    "nvidia.com_nvidiadrivers.yaml",
    "resource.nvidia.com_computedomaincliques.yaml",
    "resource.nvidia.com_computedomains.yaml",
)


class GpuEnablement(pulumi.ComponentResource):
    """The device plugin and DCGM exporter, or the GPU operator, on the cluster's GPU nodes."""

    def __init__(
        self,
        name: str,
        args: GpuEnablementArgs,
        *,
        cluster: Cluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        gpu = cluster.gpu
        if gpu is None:
            raise ValueError(
                f"{name}: GpuEnablement needs a cluster with GPU nodes, but cluster.gpu is "
                "None: add a node pool with accelerator: nvidia, or leave GpuEnablement out"
            )
        super().__init__("plinth:gpu:GpuEnablement", name, None, opts)
        child = cluster.resource_options(self)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=cluster.metadata(args.namespace, **namespace_labels("privileged")),
            opts=child,
        )
        self.crds: list[pulumi.Resource] = []
        if args.mode == "gpu-operator":
            self.crds = install_crds(name, versions.GPU_OPERATOR_CRD_BASE, CRD_FILES, child)
            releases = [
                (
                    "operator",
                    "gpu-operator",
                    versions.GPU_OPERATOR_CHART,
                    versions.GPU_OPERATOR_CHART_REPO,
                    gpu_operator_values(args, cluster, gpu),
                ),
            ]
        else:
            releases = [
                (
                    "device-plugin",
                    "nvidia-device-plugin",
                    versions.NVIDIA_DEVICE_PLUGIN_CHART,
                    versions.NVIDIA_DEVICE_PLUGIN_CHART_REPO,
                    device_plugin_values(args, gpu),
                ),
                (
                    "dcgm-exporter",
                    "dcgm-exporter",
                    versions.DCGM_EXPORTER_CHART,
                    versions.DCGM_EXPORTER_CHART_REPO,
                    dcgm_exporter_values(args, cluster, gpu),
                ),
            ]
        # Each chart waits for the namespace and, for the operator, its CRDs.
        after = cluster.chart_options(self, depends_on=[namespace, *self.crds])
        self.charts = [
            Chart(
                f"{name}-{suffix}",
                chart=chart,
                version=version,
                repository_opts=RepositoryOptsArgs(repo=repo),
                namespace=args.namespace,
                skip_crds=True,
                values=values,
                opts=after,
            )
            for suffix, chart, version, repo, values in releases
        ]
        self.register_outputs({"namespace": args.namespace, "mode": args.mode})


def gpu_node_affinity(gpu: GpuScheduling) -> dict[str, Any]:
    """A required node affinity that selects exactly the GPU nodes' labels.

    The device plugin chart's default affinity requires labels only node feature discovery
    or GPU feature discovery set (`feature.node.kubernetes.io/pci-10de.present`,
    `nvidia.com/gpu.present`), which EKS GPU nodes lack. Helm merges maps, so the default is
    removed by replacing its `nodeSelectorTerms` list, not by an empty map.
    """
    expressions = [
        {"key": key, "operator": "In", "values": [value]}
        for key, value in sorted(gpu.node_selector.items())
    ]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": expressions}]
            }
        }
    }


def chart_override(args: GpuEnablementArgs, chart: ChartName) -> Mapping[str, Any]:
    """The `values_override` of `chart`, secret when plinth:gpu is set with --secret."""
    return values_override(args.values_override.get(chart, {}), args)


def device_plugin_values(args: GpuEnablementArgs, gpu: GpuScheduling) -> dict[str, Any]:
    """Values of the `nvidia-device-plugin` chart, with its `values_override` on top."""
    rendered: dict[str, Any] = {
        # Names that do not depend on the release, so the exemptions below can name them.
        "fullnameOverride": DEVICE_PLUGIN,
        # nodeSelector and tolerations; the tolerations list replaces the chart's
        # (CriticalAddonsOnly, nvidia.com/gpu Exists).
        **gpu.pod_placement(),
        "affinity": gpu_node_affinity(gpu),
        "resources": args.device_plugin_resources.to_kubernetes(),
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        # The chart's own default without MIG or CPU-manager options, stated so that it
        # stays so: no privilege, no capability.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return deep_merge(rendered, chart_override(args, "nvidia-device-plugin"))


def dcgm_exporter_values(
    args: GpuEnablementArgs, cluster: Cluster, gpu: GpuScheduling
) -> dict[str, Any]:
    """Values of the `dcgm-exporter` chart, with its `values_override` on top."""
    rendered: dict[str, Any] = {
        "fullnameOverride": DCGM_EXPORTER,
        # The chart's default affinity is empty; its control-plane toleration is replaced.
        **gpu.pod_placement(),
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "resources": args.dcgm_exporter_resources.to_kubernetes(),
        "podLabels": dict(sorted(cluster.labels.items())),
        # The chart creates one by default, which fails without the Prometheus operator.
        "serviceMonitor": {"enabled": args.service_monitor},
    }
    return deep_merge(rendered, chart_override(args, "dcgm-exporter"))


def gpu_operator_values(
    args: GpuEnablementArgs, cluster: Cluster, gpu: GpuScheduling
) -> dict[str, Any]:
    """Values of the `gpu-operator` chart, with its `values_override` on top."""
    taint = [gpu.taint.toleration()]
    rendered: dict[str, Any] = {
        "driver": {"enabled": not args.driver_preinstalled},
        "toolkit": {"enabled": not args.driver_preinstalled},
        # The operator's agents (device plugin, DCGM exporter, feature discovery, validator,
        # MIG manager) go to the nodes it labels as GPU nodes; they must tolerate the taint.
        "daemonsets": {"tolerations": taint, "labels": dict(sorted(cluster.labels.items()))},
        "operator": {
            "resources": args.operator_resources.to_kubernetes(),
            # Plinth applies the CRDs from the release (CRD_FILES); the chart's pre-upgrade
            # hook would apply them a second time, from the operator image.
            "upgradeCRD": False,
        },
        "devicePlugin": {"resources": args.device_plugin_resources.to_kubernetes()},
        "dcgmExporter": {
            "resources": args.dcgm_exporter_resources.to_kubernetes(),
            "serviceMonitor": {"enabled": args.service_monitor},
        },
        # The operator finds GPU nodes by the PCI labels the feature discovery worker sets,
        # so the worker must reach GPU nodes; it is not limited to them, because the
        # operator clears nvidia.com/gpu.present on a node without those labels.
        "node-feature-discovery": {"worker": {"tolerations": taint}},
    }
    return deep_merge(rendered, chart_override(args, "gpu-operator"))
