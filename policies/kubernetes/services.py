"""Rules: traffic enters the cluster only through the ingress gateways.

A `LoadBalancer` or `NodePort` Service opens a port outside the mesh's authentication,
authorization and rate limits. Only the Services named in `allowedServices` (as
`namespace/name`) may be of those types. The default is the Istio ingress gateway as
Istio's Helm instructions install it: the `gateway` chart in namespace `istio-ingress`,
whose Service is named after `name` (values) or the release, falling back to
`istio-ingressgateway`, and of type `LoadBalancer` by default. `spec.externalIPs` is
refused on every Service, the gateway's included: traffic to those addresses is routed to
the Service by every node, outside any load balancer Plinth declares.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.framework import (
    ADVISORY_IN_DEV,
    Rule,
    dig,
    environment_key,
    resource_rule,
    sequence,
)
from policies.kubernetes.namespaces import object_namespace

RULE = "service-external-exposure"
SERVICE = "kubernetes:core/v1:Service"
EXTERNAL_TYPES = ("LoadBalancer", "NodePort")
_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"

ALLOWED_SERVICES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "pattern": f"^{_DNS_LABEL}/{_DNS_LABEL}$"},
    "default": ["istio-ingress/istio-ingressgateway"],
    "description": "Services (namespace/name) that may be LoadBalancer or NodePort: the "
    "ingress gateways.",
}


def _validate_exposure(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE:
        return
    external_ips = sequence(dig(args.props, "spec", "externalIPs"))
    if external_ips:
        name = dig(args.props, "metadata", "name") or args.name
        report(
            f"Service {object_namespace(args.props, args.provider)}/{name} has "
            f"spec.externalIPs {', '.join(map(str, external_ips))}; remove them and route "
            "through the ingress gateway",
            args.urn,
        )
    service_type = dig(args.props, "spec", "type")
    if service_type not in EXTERNAL_TYPES:
        return
    name = dig(args.props, "metadata", "name")
    namespace = object_namespace(args.props, args.provider)
    if not isinstance(name, str) or not name:
        report(
            f"Service {args.name} is {service_type} and has no metadata.name, so it cannot "
            f"match {environment_key(RULE, 'allowedServices')}; make it ClusterIP and "
            "route through the ingress gateway",
            args.urn,
        )
        return
    if f"{namespace}/{name}" not in args.get_config()["allowedServices"]:
        report(
            f"Service {namespace}/{name} is {service_type}; make it ClusterIP and route "
            "through the ingress gateway (an Istio VirtualService), or add "
            f"{namespace}/{name} to {environment_key(RULE, 'allowedServices')} if it is a "
            "gateway",
            args.urn,
        )


RULES: tuple[Rule, ...] = (
    resource_rule(
        RULE,
        "Only ingress gateways are LoadBalancer or NodePort Services; no Service has externalIPs.",
        _validate_exposure,
        severity=Severity.HIGH,
        remediation=(
            "Use type ClusterIP (in the component that creates the Service, or its chart's "
            "values through plinth:<component>.values_override) and expose the service "
            "through the Istio ingress gateway; a new gateway goes in "
            f"{environment_key(RULE, 'allowedServices')} as namespace/name."
        ),
        # dev: on a laptop a NodePort is how one reaches a service without a gateway;
        # staging and prod expose services only through the gateway.
        levels=ADVISORY_IN_DEV,
        config={"allowedServices": ALLOWED_SERVICES_SCHEMA},
    ),
)
