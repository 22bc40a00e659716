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
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs
from pydantic import Field, model_validator

from components import versions
from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ComponentArgs,
    ContainerResources,
    OwnNamespace,
    WorkloadExemption,
)
from components.cluster import Cluster, GpuScheduling
from components.crds import install_crds
from components.merge import deep_merge
from components.pod_security import namespace_labels
from components.secrets import values_override

Mode = Literal["device-plugin", "gpu-operator"]
ChartName = Literal["nvidia-device-plugin", "dcgm-exporter", "gpu-operator"]
# The charts each mode installs, by chart name (the keys of `values_override`).
CHARTS: dict[Mode, tuple[ChartName, ...]] = {
    "device-plugin": ("nvidia-device-plugin", "dcgm-exporter"),
    "gpu-operator": ("gpu-operator",),
}
# The agents' names (fullnameOverride), fixed so that their exemptions can name them.
DEVICE_PLUGIN = "nvidia-device-plugin"
DCGM_EXPORTER = "dcgm-exporter"
CRD_FILES = (
    "nvidia.com_clusterpolicies.yaml",
    "nvidia.com_gpuclusters.yaml",
    "nvidia.com_nvidiadrivers.yaml",
    "resource.nvidia.com_computedomaincliques.yaml",
    "resource.nvidia.com_computedomains.yaml",
)


class GpuEnablementArgs(ComponentArgs):
    """Settings of NVIDIA GPU enablement (device plugin and DCGM exporter, or GPU operator)."""

    mode: Mode = Field(
        "device-plugin",
        description=(
            "'device-plugin': the NVIDIA device plugin and DCGM exporter charts, for nodes "
            "whose image ships the driver and container toolkit. 'gpu-operator': the NVIDIA "
            "GPU operator, which runs its own device plugin and DCGM exporter (and node "
            "feature discovery) and can install the driver."
        ),
    )
    namespace: OwnNamespace = Field(
        "nvidia-gpu",
        pattern=DNS_LABEL,
        description="Namespace of the GPU agents; enforces Pod Security 'privileged'.",
    )
    driver_preinstalled: bool = Field(
        True,
        description=(
            "The node image ships the NVIDIA driver and container toolkit (EKS NVIDIA "
            "AL2023 and Bottlerocket AMIs, most on-prem GPU images), so the GPU operator "
            "installs neither. false (gpu-operator mode only) lets the operator install both."
        ),
    )
    service_monitor: bool = Field(
        False,
        description=(
            "Create a ServiceMonitor for the DCGM exporter's metrics. Needs the Prometheus "
            "operator's CRDs in the cluster."
        ),
    )
    device_plugin_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi"
        ),
        description="Device plugin container resources (either mode).",
    )
    dcgm_exporter_resources: ContainerResources = Field(
        default_factory=ContainerResources,
        description="DCGM exporter container resources (either mode).",
    )
    operator_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="200m", memory_request="100Mi", cpu_limit="500m", memory_limit="350Mi"
        ),
        description="GPU operator controller resources (gpu-operator mode).",
    )
    values_override: dict[ChartName, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Chart name -> values deep-merged over the values Plinth renders for that chart "
            "(maps merge, lists replace): the escape hatch for any chart setting not typed "
            "here. Only the charts of the mode: nvidia-device-plugin and dcgm-exporter, or "
            "gpu-operator. Keys must exist in the pinned chart's values. Its strings stay "
            "secret when the key is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )

    @model_validator(mode="after")
    def _settings_fit_the_mode(self) -> GpuEnablementArgs:
        installed = CHARTS[self.mode]
        stray = sorted(set(self.values_override) - set(installed))
        if stray:
            raise ValueError(
                f"values_override names chart {stray[0]} but mode {self.mode} installs "
                f"{' and '.join(installed)}: override one of those, or change mode"
            )
        if self.mode == "device-plugin" and not self.driver_preinstalled:
            raise ValueError(
                "driver_preinstalled is false but mode is device-plugin, which cannot install "
                "the driver: set mode to gpu-operator, or driver_preinstalled to true"
            )
        return self


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


def policy_exemptions(args: GpuEnablementArgs) -> tuple[WorkloadExemption, ...]:
    """The Pod Security rules each GPU agent of device-plugin mode is exempt from, and why.

    Exactly these workloads, exactly these rules: anything else in the namespace, and any
    other rule (seccomp, resources, images), is still checked.
    """
    if args.mode != "device-plugin":
        return ()
    namespace = args.namespace

    def exempt(name: str, reason: str, *rules: str, paths: tuple[str, ...] = ()) -> list[Any]:
        found = [WorkloadExemption(rule, namespace, name, reason) for rule in rules]
        if paths:
            found.append(WorkloadExemption("pss-host-path-volumes", namespace, name, reason, paths))
        return found

    return (
        *exempt(
            DEVICE_PLUGIN,
            "registers each node's GPUs with the kubelet through a socket in the root-owned "
            "/var/lib/kubelet/device-plugins, and reads the MPS and CDI state on the host",
            "pss-run-as-non-root",
            paths=("/var/lib/kubelet/device-plugins", "/run/nvidia/mps", "/var/run/cdi"),
        ),
        *exempt(
            f"{DEVICE_PLUGIN}-mps-control-daemon",
            "the device plugin chart's MPS control daemon: it runs only on nodes labelled "
            "nvidia.com/mps.capable=true, where starting MPS needs a privileged root container "
            "in the host PID namespace with the host's MPS directory",
            "pss-no-privileged",
            "pss-no-privilege-escalation",
            "pss-drop-all-capabilities",
            "pss-no-host-namespaces",
            "pss-run-as-non-root",
            paths=("/run/nvidia/mps",),
        ),
        *exempt(
            DCGM_EXPORTER,
            "DCGM reads GPU profiling counters (DCGM_FI_PROF_*), which needs root with "
            "SYS_ADMIN, and maps metrics to pods through the kubelet's pod-resources socket",
            "pss-run-as-non-root",
            "pss-drop-all-capabilities",
            paths=("/var/lib/kubelet/pod-resources",),
        ),
    )


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
