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

from typing import Any

import pulumi

from components import versions
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster, GpuScheduling
from components.gpu_enablement.args import (
    DCGM_EXPORTER,
    DEVICE_PLUGIN,
    GpuEnablementArgs,
)
from components.monitoring import MonitoringStack

CRD_FILES = (
    "nvidia.com_clusterpolicies.yaml",
    "nvidia.com_gpuclusters.yaml",
    "nvidia.com_nvidiadrivers.yaml",
    "resource.nvidia.com_computedomaincliques.yaml",
    "resource.nvidia.com_computedomains.yaml",
)


class GpuEnablement(ChartComponent):
    """The device plugin and DCGM exporter, or the GPU operator, on the cluster's GPU nodes."""

    def __init__(
        self,
        name: str,
        args: GpuEnablementArgs,
        *,
        cluster: Cluster,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        gpu = cluster.gpu
        if gpu is None:
            raise ValueError(
                f"{name}: GpuEnablement needs a cluster with GPU nodes, but cluster.gpu is "
                "None: add a node pool with accelerator: nvidia, or leave GpuEnablement out"
            )
        operator = args.mode == "gpu-operator"
        super().__init__(
            "plinth:gpu:GpuEnablement",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="privileged",
            crds=CrdRelease(versions.GPU_OPERATOR_CRD_BASE, CRD_FILES) if operator else None,
            opts=opts,
        )
        if operator:
            releases = [
                ChartRelease(
                    f"{name}-operator",
                    "gpu-operator",
                    versions.GPU_OPERATOR_CHART,
                    versions.GPU_OPERATOR_CHART_REPO,
                    gpu_operator_values(args, cluster, gpu, monitored=monitoring is not None),
                )
            ]
        else:
            releases = [
                ChartRelease(
                    f"{name}-device-plugin",
                    "nvidia-device-plugin",
                    versions.NVIDIA_DEVICE_PLUGIN_CHART,
                    versions.NVIDIA_DEVICE_PLUGIN_CHART_REPO,
                    device_plugin_values(args, gpu),
                ),
                ChartRelease(
                    f"{name}-dcgm-exporter",
                    "dcgm-exporter",
                    versions.DCGM_EXPORTER_CHART,
                    versions.DCGM_EXPORTER_CHART_REPO,
                    dcgm_exporter_values(args, cluster, gpu, monitored=monitoring is not None),
                ),
            ]
        # The exporter's ServiceMonitor waits for the prometheus-operator CRDs.
        self.charts = self.install_charts(
            releases, depends_on=monitoring.crds if monitoring else ()
        )
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
    return release_values(rendered, args.values_override.get("nvidia-device-plugin", {}), args)


def dcgm_exporter_values(
    args: GpuEnablementArgs, cluster: Cluster, gpu: GpuScheduling, *, monitored: bool = False
) -> dict[str, Any]:
    """Values of the `dcgm-exporter` chart, with its `values_override` on top; `monitored`
    when the environment deploys monitoring (the exporter's ServiceMonitor)."""
    rendered: dict[str, Any] = {
        "fullnameOverride": DCGM_EXPORTER,
        # The chart's default affinity is empty; its control-plane toleration is replaced.
        **gpu.pod_placement(),
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "resources": args.dcgm_exporter_resources.to_kubernetes(),
        "podLabels": dict(sorted(cluster.labels.items())),
        # The chart creates one by default, which fails without the Prometheus operator.
        "serviceMonitor": {"enabled": monitored},
    }
    return release_values(rendered, args.values_override.get("dcgm-exporter", {}), args)


def gpu_operator_values(
    args: GpuEnablementArgs, cluster: Cluster, gpu: GpuScheduling, *, monitored: bool = False
) -> dict[str, Any]:
    """Values of the `gpu-operator` chart, with its `values_override` on top; `monitored`
    when the environment deploys monitoring (the DCGM exporter's ServiceMonitor)."""
    taint = gpu.tolerations()
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
            "serviceMonitor": {"enabled": monitored},
        },
        # The operator finds GPU nodes by the PCI labels the feature discovery worker sets,
        # so the worker must reach GPU nodes; it is not limited to them, because the
        # operator clears nvidia.com/gpu.present on a node without those labels.
        "node-feature-discovery": {"worker": {"tolerations": taint}},
    }
    return release_values(rendered, args.values_override.get("gpu-operator", {}), args)
