"""Rule: every container states its CPU and memory requests and limits."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, Severity

from policies.framework import ADVISORY_IN_DEV, Rule, mapping, resource_rule, sequence
from policies.kubernetes.pod_specs import (
    WHERE_PODS_CHANGE,
    PodSpecView,
    containers,
    pod_validator,
)

RESOURCE_KEYS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def _resources(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    required = [str(key) for key in sequence(args.get_config().get("required"))]
    # Ephemeral containers may not set resources: only regular and init containers.
    for container in containers(view.spec, ("containers", "initContainers")):
        resources = mapping(container.spec.get("resources"))
        missing = [
            key
            for key in required
            if mapping(resources.get(key.split(".")[0])).get(key.split(".")[1]) in (None, "")
        ]
        if not missing:
            continue
        fields = [view.locate(f"{container.path}.resources.{key}") for key in missing]
        block = view.locate(f"{container.path}.resources")
        if all(f == f"{block}.{key}" for f, key in zip(fields, missing, strict=True)):
            yield f"{container.label} has no {', '.join(missing)}: set them in {block}"
        else:  # Spark: each size has its own field
            yield f"{container.label} has no {', '.join(missing)}: set {', '.join(fields)}"


RULES: tuple[Rule, ...] = (
    resource_rule(
        "container-resources",
        "Every container states its CPU and memory requests and limits.",
        pod_validator(_resources),
        severity=Severity.MEDIUM,
        remediation=(
            "Set resources.requests and resources.limits for cpu and memory on every "
            "container and init container (for Spark: cores, coreLimit and memory). Plinth's "
            "components take them from the environment file (plinth:<component>.*resources, "
            f"e.g. plinth:spark_operator.controller_resources). {WHERE_PODS_CHANGE}"
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "required": {
                "type": "array",
                "items": {"enum": list(RESOURCE_KEYS)},
                "uniqueItems": True,
                "default": list(RESOURCE_KEYS),
                "description": "Which of requests/limits x cpu/memory every container sets.",
            }
        },
    ),
)
