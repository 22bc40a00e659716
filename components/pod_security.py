"""Pod Security Standards as Plinth applies them: one definition for every component.

Typed Kubernetes resources take the snake_case `*ArgsDict` form (the SDK translates it);
custom resource specs and chart values go to the API as written, so they take the
camelCase form derived from the same definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the types only: configuration loads without the Kubernetes SDK
    import pulumi_kubernetes as k8s

PodSecurityLevel = Literal["restricted", "baseline"]
# What a namespace may enforce: workload levels, or `privileged` for platform namespaces
# whose node agents need the host (device plugin sockets, hostPath mounts).
NamespaceLevel = Literal["restricted", "baseline", "privileged"]

RESTRICTED_CONTAINER_ARGS: k8s.core.v1.SecurityContextArgsDict = {
    "allow_privilege_escalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "read_only_root_filesystem": True,
    "run_as_non_root": True,
    "seccomp_profile": {"type": "RuntimeDefault"},
}


def camel_case(value: Any) -> Any:
    """`value` with every map key turned from snake_case to the API's camelCase."""
    if isinstance(value, dict):
        return {_camel(key): camel_case(child) for key, child in value.items()}
    if isinstance(value, list):
        return [camel_case(child) for child in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


# The restricted container security context, for custom resource specs and chart values.
RESTRICTED_CONTAINER: dict[str, Any] = camel_case(RESTRICTED_CONTAINER_ARGS)


def namespace_labels(level: NamespaceLevel) -> dict[str, str]:
    """Pod Security Admission labels that enforce, audit and warn at `level`."""
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("audit", "enforce", "warn")}
