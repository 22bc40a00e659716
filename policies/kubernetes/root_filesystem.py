"""Rule: containers run with a read-only root filesystem (advice in every tier)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, Severity

from policies.framework import ADVISORY_EVERYWHERE, Rule, resource_rule
from policies.kubernetes.pod_specs import (
    WHERE_PODS_CHANGE,
    PodSpecView,
    containers,
    pod_validator,
    security_context,
)


def _read_only_root(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for container in containers(view.spec, ("containers", "initContainers")):
        if security_context(container.spec).get("readOnlyRootFilesystem") is not True:
            field = view.locate(f"{container.path}.securityContext.readOnlyRootFilesystem")
            yield (
                f"{container.label}: {field} is not true; set it to true and mount an "
                f"emptyDir where the process writes"
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "containers-read-only-root-filesystem",
        "Containers run with a read-only root filesystem.",
        pod_validator(_read_only_root),
        severity=Severity.LOW,
        remediation=(
            "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where "
            f"the process writes (/tmp, caches). {WHERE_PODS_CHANGE}"
        ),
        levels=ADVISORY_EVERYWHERE,
    ),
)
