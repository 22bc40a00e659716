"""Settings of NVIDIA GPU enablement (`plinth:gpu`), and the workloads its agents exempt
from Pod Security rules: pydantic only, no cloud SDK."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ComponentArgs,
    ContainerResources,
    OwnNamespace,
    WorkloadExemption,
)

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
