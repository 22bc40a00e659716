"""Rules: the mesh requires mutual TLS, and no policy downgrades it.

- `mesh-mtls-strict` (stack rule): where Istio is deployed (an `istiod` chart or any
  `*.istio.io` object), a mesh-wide `PeerAuthentication` exists: in the root namespace
  (`rootNamespace`, istiod's namespace), without a selector, with `mtls.mode: STRICT`.
  Istio's default without one is PERMISSIVE: plain text accepted beside mTLS.
- `mesh-no-mtls-downgrade` (resource rule): no `PeerAuthentication` anywhere sets
  `PERMISSIVE` or `DISABLE`, for the workload or for one port (`portLevelMtls`): a
  narrower policy overrides the mesh-wide one (Istio's precedence: workload, namespace,
  mesh), so one such object reopens plain text where it applies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    mapping,
    resource_rule,
    stack_rule,
)
from policies.kubernetes.namespaces import object_namespace

STRICT_RULE = "mesh-mtls-strict"
DOWNGRADE_RULE = "mesh-no-mtls-downgrade"
PEER_AUTHENTICATION_TYPES = frozenset(
    f"kubernetes:security.istio.io/{version}:PeerAuthentication" for version in ("v1", "v1beta1")
)
CHART = "kubernetes:helm.sh/v4:Chart"
WEAK_MODES = ("PERMISSIVE", "DISABLE")


def _is_istio(resource_type: str, props: Mapping[str, Any]) -> bool:
    if resource_type == CHART:
        return props.get("chart") == "istiod"
    group = (
        resource_type.split(":")[1].split("/", maxsplit=1)[0]
        if resource_type.count(":") == 2
        else ""
    )
    return resource_type.startswith("kubernetes:") and group.endswith(".istio.io")


def _is_mesh_wide_strict(resource: PolicyResource, root: str) -> bool:
    props = resource.props
    return (
        object_namespace(props, resource.provider) == root
        and not mapping(dig(props, "spec", "selector")).get("matchLabels")
        and dig(props, "spec", "mtls", "mode") == "STRICT"
    )


def _validate_strict(args: StackValidationArgs, report: ReportViolation) -> None:
    root = args.get_config()["rootNamespace"]
    resources = args.resources
    istio = [r for r in resources if _is_istio(r.resource_type, r.props)]
    if not istio:
        return
    if any(
        r.resource_type in PEER_AUTHENTICATION_TYPES and _is_mesh_wide_strict(r, root)
        for r in resources
    ):
        return
    report(
        f"Istio is deployed but no PeerAuthentication in {root} (the root namespace) sets "
        "mtls.mode STRICT without a selector, so the mesh accepts plain text (Istio's "
        "default is PERMISSIVE); enable plinth:mesh (it creates one), or set "
        f"{environment_key(STRICT_RULE, 'rootNamespace')} to istiod's namespace",
        istio[0].urn,
    )


def _weak_modes(props: Mapping[str, Any]) -> Iterator[str]:
    mode = dig(props, "spec", "mtls", "mode")
    if mode in WEAK_MODES:
        yield f"spec.mtls.mode is {mode}"
    for port, setting in sorted(mapping(dig(props, "spec", "portLevelMtls")).items()):
        port_mode = mapping(setting).get("mode")
        if port_mode in WEAK_MODES:
            yield f"spec.portLevelMtls[{port}].mode is {port_mode}"


def _validate_no_downgrade(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in PEER_AUTHENTICATION_TYPES:
        return
    name = dig(args.props, "metadata", "name") or args.name
    namespace = object_namespace(args.props, args.provider)
    for weakness in _weak_modes(args.props):
        report(
            f"PeerAuthentication {namespace}/{name}: {weakness}, which accepts plain text "
            "where it applies; set it to STRICT or remove it (the mesh-wide policy is STRICT)",
            args.urn,
        )


RULES: tuple[Rule, ...] = (
    stack_rule(
        STRICT_RULE,
        "Where Istio is deployed, a mesh-wide PeerAuthentication requires mutual TLS (STRICT).",
        _validate_strict,
        severity=Severity.HIGH,
        remediation=(
            "Deploy the mesh with plinth:mesh, which creates PeerAuthentication `default` "
            "(mtls.mode STRICT) in istiod's namespace; a mesh elsewhere names its root "
            f"namespace in {environment_key(STRICT_RULE, 'rootNamespace')}."
        ),
        # prod: plain text between services is how credentials and data leak; dev and
        # staging are told, for a mesh being brought up workload by workload.
        levels=MANDATORY_IN_PROD,
        config={
            "rootNamespace": {
                "type": "string",
                "minLength": 1,
                "default": "istio-system",
                "description": "The mesh's root namespace (istiod's), where mesh-wide "
                "policies live.",
            }
        },
    ),
    resource_rule(
        DOWNGRADE_RULE,
        "No PeerAuthentication lowers mutual TLS to PERMISSIVE or DISABLE, for a workload "
        "or a port.",
        _validate_no_downgrade,
        severity=Severity.HIGH,
        remediation=(
            "Set spec.mtls.mode and every spec.portLevelMtls[*].mode to STRICT, or delete "
            "the PeerAuthentication (in the component or chart values that create it); a "
            "client outside the mesh reaches a service through the ingress gateway, "
            "plinth:mesh.gateway, instead."
        ),
        levels=ADVISORY_IN_DEV,
    ),
)
