"""Workloads a rule skips: the `exemptWorkloads` knob, its schema and how it matches.

A node daemon that truly needs the node (a CSI node plugin, the NVIDIA device plugin) is
exempted by name from exactly the rules it needs, with a reason: one entry of the rule's
`exemptWorkloads` ({namespace, name, reason}; `pss-host-path-volumes` adds the host
directories it may mount). Components declare theirs (plinth/exemptions.py), an
environment adds its own under `plinth:policy.config.<rule>.exemptWorkloads`, and
`plinth check` matches them the same way to list what each one hides.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.framework import mapping, sequence
from policies.kubernetes.pod_specs import PodCheck, PodSpecView

_EXEMPTION_PROPERTIES: dict[str, Any] = {
    "namespace": {"type": "string", "minLength": 1, "description": "Namespace (glob)."},
    "name": {"type": "string", "minLength": 1, "description": "Workload name (glob)."},
    "reason": {"type": "string", "minLength": 10, "description": "Why it needs the node."},
}
EXEMPT_WORKLOADS: dict[str, Any] = {
    "type": "array",
    "default": [],
    "description": (
        "Workloads this rule skips: {namespace, name, reason}, namespace and name as glob "
        "patterns matched against metadata.namespace ('default' when unset) and "
        "metadata.name (the Pulumi resource name when unset)."
    ),
    "items": {
        "type": "object",
        "properties": _EXEMPTION_PROPERTIES,
        "required": ["namespace", "name", "reason"],
        "additionalProperties": False,
    },
}
HOST_PATH_EXEMPTIONS: dict[str, Any] = {
    **EXEMPT_WORKLOADS,
    "description": (
        "Workloads allowed hostPath volumes, and under which host directories: "
        "{namespace, name, pathPrefixes, reason}; namespace and name as in exemptWorkloads."
    ),
    "items": {
        "type": "object",
        "properties": {
            **_EXEMPTION_PROPERTIES,
            "pathPrefixes": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": "^/"},
                "description": "Host directories the workload may mount, at or below.",
            },
        },
        "required": ["namespace", "name", "pathPrefixes", "reason"],
        "additionalProperties": False,
    },
}


def workload_identity(props: Mapping[str, Any], resource_name: str) -> tuple[str, str]:
    """The (namespace, name) that `exemptWorkloads` entries are matched against."""
    metadata = mapping(props.get("metadata"))
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or resource_name)


def exemption_matches(entry: Mapping[str, Any], namespace: str, name: str) -> bool:
    """Whether one `exemptWorkloads` entry (namespace and name globs) covers a workload."""
    return fnmatchcase(namespace, str(entry.get("namespace"))) and fnmatchcase(
        name, str(entry.get("name"))
    )


def matching_exemptions(args: ResourceValidationArgs) -> list[Mapping[str, Any]]:
    """The `exemptWorkloads` entries of this rule's config that match this resource."""
    entries = [
        e for e in sequence(args.get_config().get("exemptWorkloads")) if isinstance(e, Mapping)
    ]
    if not entries:
        return []
    namespace, name = workload_identity(args.props, args.name)
    return [entry for entry in entries if exemption_matches(entry, namespace, name)]


def unless_exempt(check: PodCheck) -> PodCheck:
    def exempt_or_check(view: PodSpecView, args: ResourceValidationArgs) -> list[str]:
        return [] if matching_exemptions(args) else list(check(view, args))

    return exempt_or_check
