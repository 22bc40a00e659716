"""Rules: GPUs. GPU pods set limits and tolerate the GPU taint; GPU node pools are tainted.

Plinth keeps CPU work off GPU nodes with a taint (default `nvidia.com/gpu`, see
`plinth:cluster.gpu`): every GPU node pool carries it and every pod that asks for a GPU
tolerates it. A GPU is asked for with the extended resource `nvidia.com/gpu` (or a MIG
slice, `nvidia.com/mig-<profile>`), which Kubernetes takes only as a limit.

Node pools are cloud resources: EKS managed node groups (`aws:eks/nodeGroup:NodeGroup`)
and AKS agent pools (`azure-native:containerservice:AgentPool`, and the pools inline in a
`ManagedCluster`). A pool counts as a GPU pool by its node image or VM size, or by a
GPU label it gives its nodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    Rule,
    mapping,
    resource_rule,
    sequence,
)
from policies.kubernetes.pod_specs import (
    WHERE_PODS_CHANGE,
    Container,
    PodSpecView,
    containers,
    pod_validator,
)

GPU_RESOURCES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "default": ["nvidia.com/gpu", "nvidia.com/mig-*"],
    "description": "Extended resources that are GPUs (globs).",
}
TAINT_KEY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "default": "nvidia.com/gpu",
    "description": "Key of the taint GPU nodes carry (plinth:cluster.gpu).",
}


def _quantity(value: Any) -> float | None:
    """A resource count as a number: 1.0 or "1" -> 1.0; None when not a plain count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    return None


def _count(value: Any) -> str:
    """A count for messages: 1.0 -> "1"."""
    number = _quantity(value)
    return f"{number:g}" if number is not None else str(value)


def _gpus(resources: Mapping[str, Any], patterns: list[str]) -> dict[str, Any]:
    """The GPU resources in `resources` (requests or limits) that are not zero."""
    return {
        name: value
        for name, value in resources.items()
        if any(fnmatchcase(name, pattern) for pattern in patterns) and _quantity(value) != 0
    }


def _patterns(args: ResourceValidationArgs) -> list[str]:
    return [str(pattern) for pattern in sequence(args.get_config().get("resourceNames"))]


# ---- pods ----------------------------------------------------------------------------


def _gpu_limits(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    patterns = _patterns(args)
    for container in containers(view.spec, ("containers", "initContainers")):
        resources = mapping(container.spec.get("resources"))
        limits = mapping(resources.get("limits"))
        for name, requested in sorted(_gpus(mapping(resources.get("requests")), patterns).items()):
            field = view.locate(f"{container.path}.resources.limits.{name}")
            limit = limits.get(name)
            if limit is None:
                yield (
                    f"{container.label} requests {name} but sets no limit: set {field} to "
                    f"{_count(requested)} (Kubernetes takes GPUs only as limits)"
                )
            elif _quantity(limit) != _quantity(requested) or _quantity(limit) is None:
                yield (
                    f"{container.label} requests {_count(requested)} {name} but limits it to "
                    f"{_count(limit)}: "
                    f"make {field} equal to the request (GPUs are not shared)"
                )


def _asks_for_gpu(view: PodSpecView, patterns: list[str]) -> list[Container]:
    found = []
    for container in containers(view.spec, ("containers", "initContainers")):
        resources = mapping(container.spec.get("resources"))
        if any(_gpus(mapping(resources.get(part)), patterns) for part in ("requests", "limits")):
            found.append(container)
    return found


def _tolerates(toleration: Mapping[str, Any], key: str, effect: str) -> bool:
    """Whether `toleration` tolerates the taint `key`=<any value>:`effect` (scheduler rules)."""
    if toleration.get("effect") not in (None, "", effect):
        return False
    operator = toleration.get("operator") or "Equal"
    if not toleration.get("key"):
        return operator == "Exists"
    return toleration.get("key") == key and operator in ("Exists", "Equal")


def _gpu_toleration(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    gpu_containers = _asks_for_gpu(view, _patterns(args))
    if not gpu_containers:
        return
    key = str(args.get_config().get("taintKey"))
    effect = str(args.get_config().get("taintEffect"))
    tolerations = [mapping(t) for t in sequence(view.spec.get("tolerations"))]
    if not any(_tolerates(toleration, key, effect) for toleration in tolerations):
        names = ", ".join(container.label for container in gpu_containers)
        yield (
            f"{view.where}: {names} asks for a GPU but the pod does not tolerate the GPU "
            f"taint {key}:{effect}, so it never schedules on a GPU node; add "
            f"{{key: {key}, operator: Exists, effect: {effect}}} to {view.locate('tolerations')}"
        )


# ---- node pools ----------------------------------------------------------------------

_EC2_GPU_FAMILY = re.compile(r"^(g|gr|p)\d", re.IGNORECASE)
_AZURE_GPU_SIZE = re.compile(r"^standard_n[cdv]", re.IGNORECASE)
_AZURE_AMD_SIZE = re.compile(r"as_v4$", re.IGNORECASE)  # NVv4: AMD GPUs, no nvidia.com/gpu
_TAINT_EFFECTS = ("NoSchedule", "NoExecute")
_AWS_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute"}
# Plinth's node pools taint a pool declared with this, in the environment file.
GPU_POOL_KEY = "plinth:node_pools.<name>.accelerator: nvidia"


def _gpu_label(labels: Mapping[str, Any], keys: list[str]) -> str | None:
    for key in keys:
        value = labels.get(key)
        if value is not None and str(value).lower() not in ("", "false", "none"):
            return f"label {key}={value}"
    return None


def _eks_gpu(props: Mapping[str, Any], label_keys: list[str]) -> str | None:
    """Why an EKS node group is a GPU pool, or None."""
    ami = props.get("amiType")
    if isinstance(ami, str) and ("NVIDIA" in ami.upper() or "GPU" in ami.upper()):
        return f"amiType {ami}"
    for instance_type in sequence(props.get("instanceTypes")):
        if isinstance(instance_type, str) and _EC2_GPU_FAMILY.match(instance_type):
            return f"instance type {instance_type}"
    return _gpu_label(mapping(props.get("labels")), label_keys)


def _aks_gpu(pool: Mapping[str, Any], label_keys: list[str]) -> str | None:
    """Why an AKS agent pool is a GPU pool, or None."""
    size = pool.get("vmSize")
    if isinstance(size, str) and _AZURE_GPU_SIZE.match(size) and not _AZURE_AMD_SIZE.search(size):
        return f"vmSize {size}"
    if pool.get("gpuProfile") is not None:
        return "gpuProfile"
    return _gpu_label(mapping(pool.get("nodeLabels")), label_keys)


def _aks_taints(pool: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, effect) of each `key[=value]:Effect` string in nodeTaints."""
    taints = []
    for taint in sequence(pool.get("nodeTaints")):
        if isinstance(taint, str) and ":" in taint:
            key_value, _, effect = taint.rpartition(":")
            taints.append((key_value.split("=", 1)[0], effect))
    return taints


def _node_pools_tainted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    key = str(config.get("taintKey"))
    label_keys = [str(k) for k in sequence(config.get("labelKeys"))]
    if args.resource_type == "aws:eks/nodeGroup:NodeGroup":
        why = _eks_gpu(args.props, label_keys)
        taints = [
            (str(mapping(t).get("key")), _AWS_EFFECTS.get(str(mapping(t).get("effect")), ""))
            for t in sequence(args.props.get("taints"))
        ]
        if why and not any(k == key and e in _TAINT_EFFECTS for k, e in taints):
            report_violation(
                f"GPU node group ({why}) has no {key} NoSchedule taint, so any pod may land "
                f"on its GPU nodes; declare the pool with {GPU_POOL_KEY}, which taints it, "
                f"or add taints: [{{key: {key}, value: 'true', effect: NO_SCHEDULE}}]",
                None,
            )
    elif args.resource_type == "azure-native:containerservice:AgentPool":
        for message in _aks_pool(args.props, "", key, label_keys):
            report_violation(message, None)
    elif args.resource_type == "azure-native:containerservice:ManagedCluster":
        for index, pool in enumerate(sequence(args.props.get("agentPoolProfiles"))):
            for message in _aks_pool(
                mapping(pool), f"agentPoolProfiles[{index}]: ", key, label_keys
            ):
                report_violation(message, None)


def _aks_pool(pool: Mapping[str, Any], where: str, key: str, label_keys: list[str]) -> list[str]:
    why = _aks_gpu(pool, label_keys)
    if not why or any(k == key and e in _TAINT_EFFECTS for k, e in _aks_taints(pool)):
        return []
    return [
        f"{where}GPU agent pool ({why}) has no {key} NoSchedule taint, so any pod may land "
        f"on its GPU nodes; declare the pool with {GPU_POOL_KEY}, which taints it, or add "
        f"nodeTaints: ['{key}=true:NoSchedule']"
    ]


RULES: tuple[Rule, ...] = (
    resource_rule(
        "gpu-requests-have-limits",
        "A container that requests GPUs sets the same number as its limit.",
        pod_validator(_gpu_limits),
        severity=Severity.HIGH,
        remediation=(
            "Set resources.limits['nvidia.com/gpu'] (or only the limit: the request "
            "defaults to it); a request without an equal limit is refused by Kubernetes. "
            f"{WHERE_PODS_CHANGE}"
        ),
        levels=MANDATORY_EVERYWHERE,
        config={"resourceNames": GPU_RESOURCES},
    ),
    resource_rule(
        "gpu-pods-tolerate-gpu-taint",
        "A pod that asks for a GPU tolerates the taint GPU nodes carry.",
        pod_validator(_gpu_toleration),
        severity=Severity.MEDIUM,
        remediation=(
            "Add {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to the pod's "
            "tolerations (in a component, Cluster.gpu.pod_placement() gives tolerations and "
            "nodeSelector); for Spark, to driver/executor tolerations. On an existing "
            "cluster the taint's key is plinth:cluster.gpu.taint_key, and this rule's "
            "plinth:policy.config.gpu-pods-tolerate-gpu-taint.taintKey must match it. "
            f"{WHERE_PODS_CHANGE}"
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "resourceNames": GPU_RESOURCES,
            "taintKey": TAINT_KEY,
            "taintEffect": {
                "enum": list(_TAINT_EFFECTS),
                "default": "NoSchedule",
                "description": "Effect of the GPU taint.",
            },
        },
    ),
    resource_rule(
        "gpu-node-pools-tainted",
        "A GPU node pool taints its nodes so only GPU pods land there.",
        _node_pools_tainted,
        severity=Severity.MEDIUM,
        remediation=(
            f"Declare a GPU pool with {GPU_POOL_KEY} in the environment file: Plinth's "
            "node pools then taint it nvidia.com/gpu=true:NoSchedule. A pool made "
            "elsewhere needs the taint itself: EKS taints [{key: nvidia.com/gpu, value: "
            "'true', effect: NO_SCHEDULE}], AKS nodeTaints ['nvidia.com/gpu=true:NoSchedule']."
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "taintKey": TAINT_KEY,
            "labelKeys": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [
                    "plinth.io/accelerator",
                    "nvidia.com/gpu.present",
                    "k8s.amazonaws.com/accelerator",
                ],
                "description": "Node labels that mark a pool as GPU (value not false/none).",
            },
        },
    ),
)
