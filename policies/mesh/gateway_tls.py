"""Rule: every host the mesh exposes through a gateway is served over TLS, and plain HTTP
only redirects to it.

- `gateway-hosts-tls` (stack rule): for each Istio `VirtualService` bound to a `Gateway`
  (`spec.gateways`, `<namespace>/<name>` or a name in the route's own namespace; `mesh`
  is the sidecars, not a gateway), each of its `spec.hosts`:
  - the Gateway is in the stack (else nothing shows how the host is served);
  - a server of that Gateway whose `hosts` match it terminates TLS: `tls.mode` SIMPLE,
    MUTUAL or OPTIONAL_MUTUAL with a certificate (`credentialName`, `credentialNames`,
    `tlsCertificates`, or `serverCertificate` and `privateKey`), or ISTIO_MUTUAL (the
    mesh's own certificates; Istio wants no other TLS field then);
  - every other server whose `hosts` match it only redirects: `tls.httpsRedirect: true`.
    A server without TLS answers in plain text, and a PASSTHROUGH server hands TLS to
    the backend: neither is TLS at the gateway.

  Host matching is Istio's: a server host is `[namespace/]dnsName`, where the namespace
  part (`*` any, `.` the Gateway's own, else a name; none means any) must admit the
  VirtualService's namespace, and `dnsName` is `*`, the host itself, or `*.suffix`
  matching the host's suffix.

  The mesh rules (`mtls.py`) cover traffic between workloads; this covers what enters
  from outside. Every exposed host is covered whichever component routes it (Grafana,
  MLflow, a team's model): the rule reads the routes, not a list of services.
  Kubernetes Gateway API objects (`gateway.networking.k8s.io`) are not read yet: Plinth
  deploys none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from policies.framework import (
    ADVISORY_IN_DEV,
    Rule,
    dig,
    mapping,
    sequence,
    stack_rule,
)
from policies.kubernetes.namespaces import object_namespace

RULE = "gateway-hosts-tls"
ISTIO_NETWORKING = "kubernetes:networking.istio.io/"
MESH = "mesh"  # the reserved gateway name of the sidecars
TERMINATING_MODES = frozenset({"SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"})
ISTIO_MUTUAL = "ISTIO_MUTUAL"
HOW_PLINTH_EXPOSES = (
    "plinth:mesh creates the platform gateway with a TLS server (a cert-manager "
    "certificate) and an HTTP server that only redirects, for plinth:mesh.gateway.hosts; "
    "route a host through it and list the host there"
)


@dataclass(frozen=True)
class GatewayObject:
    """An Istio Gateway of the stack, by namespace and name."""

    resource: PolicyResource
    namespace: str
    name: str

    @property
    def servers(self) -> list[Mapping[str, Any]]:
        """Its `spec.servers`, each a mapping."""
        return [mapping(server) for server in sequence(dig(self.resource.props, "spec", "servers"))]


def _istio_kind(resource: PolicyResource, kind: str) -> bool:
    token = resource.resource_type
    return token.startswith(ISTIO_NETWORKING) and token.endswith(f":{kind}")


def _has_certificate(tls: Mapping[str, Any]) -> bool:
    return bool(
        tls.get("credentialName")
        or sequence(tls.get("credentialNames"))
        or sequence(tls.get("tlsCertificates"))
        or (tls.get("serverCertificate") and tls.get("privateKey"))
    )


def terminates_tls(server: Mapping[str, Any]) -> bool:
    """Whether a Gateway server terminates TLS with a certificate."""
    tls = mapping(server.get("tls"))
    mode = str(tls.get("mode"))
    return mode == ISTIO_MUTUAL or (mode in TERMINATING_MODES and _has_certificate(tls))


def only_redirects(server: Mapping[str, Any]) -> bool:
    """Whether a Gateway server answers every request with a redirect to HTTPS."""
    return mapping(server.get("tls")).get("httpsRedirect") is True


def server_matches(
    server_host: str, gateway_namespace: str, route_namespace: str, host: str
) -> bool:
    """Whether a Gateway server host (`[namespace/]dnsName`) admits a route's host."""
    namespace, _, dns_name = server_host.rpartition("/")
    admitted = {"": route_namespace, "*": route_namespace, ".": gateway_namespace}
    if admitted.get(namespace, namespace) != route_namespace:
        return False
    if dns_name in ("*", host):
        return True
    return dns_name.startswith("*.") and host.endswith(dns_name[1:])


def _gateway_reference(reference: str, route_namespace: str) -> tuple[str, str]:
    namespace, _, name = reference.rpartition("/")
    return namespace or route_namespace, name


def _describe(server: Mapping[str, Any]) -> str:
    port = mapping(server.get("port"))
    number = port.get("number")
    # Numbers reach policies as floats (protobuf's Struct); ports are whole numbers.
    shown_number = int(number) if isinstance(number, float) and number.is_integer() else number
    return f"server port {shown_number} ({port.get('protocol') or 'no protocol'})"


def _host_findings(gateway: GatewayObject, route_namespace: str, host: str) -> Iterator[str]:
    """What is wrong with how `gateway` serves `host` of a route in `route_namespace`."""
    serving = [
        server
        for server in gateway.servers
        if any(
            server_matches(str(h), gateway.namespace, route_namespace, host)
            for h in sequence(server.get("hosts"))
        )
    ]
    where = f"Gateway {gateway.namespace}/{gateway.name}"
    if not any(terminates_tls(server) for server in serving):
        yield (
            f"{where} has no server for {host} that terminates TLS (tls.mode SIMPLE, MUTUAL "
            "or OPTIONAL_MUTUAL with a credentialName, or ISTIO_MUTUAL)"
        )
    for server in serving:
        if not terminates_tls(server) and not only_redirects(server):
            mode = mapping(server.get("tls")).get("mode")
            how = f"tls.mode {mode}, not terminated at the gateway" if mode else "in plain text"
            yield (
                f"{where} {_describe(server)} serves {host} {how}; give it tls.httpsRedirect: "
                "true or remove the host from it"
            )


def _validate(args: StackValidationArgs, report: ReportViolation) -> None:
    gateways = {
        (gateway.namespace, gateway.name): gateway
        for gateway in (
            GatewayObject(
                resource,
                object_namespace(resource.props, resource.provider),
                str(dig(resource.props, "metadata", "name") or resource.name),
            )
            for resource in args.resources
            if _istio_kind(resource, "Gateway")
        )
    }
    for route in (r for r in args.resources if _istio_kind(r, "VirtualService")):
        route_namespace = object_namespace(route.props, route.provider)
        route_name = f"VirtualService {route_namespace}/{dig(route.props, 'metadata', 'name')}"
        hosts = [str(host) for host in sequence(dig(route.props, "spec", "hosts"))]
        for reference in sorted(str(g) for g in sequence(dig(route.props, "spec", "gateways"))):
            if reference == MESH:
                continue
            gateway = gateways.get(_gateway_reference(reference, route_namespace))
            if gateway is None:
                report(
                    f"{route_name} routes {', '.join(hosts)} through Gateway {reference}, which "
                    "the stack does not declare, so nothing shows it serves them over TLS; "
                    f"{HOW_PLINTH_EXPOSES}",
                    route.urn,
                )
                continue
            for host in hosts:
                for finding in _host_findings(gateway, route_namespace, host):
                    report(f"{route_name} exposes {host}: {finding}", route.urn)


RULES: tuple[Rule, ...] = (
    stack_rule(
        RULE,
        "Every host a VirtualService exposes through a Gateway is served there over TLS, and "
        "a plain-HTTP server for it only redirects to HTTPS.",
        _validate,
        severity=Severity.HIGH,
        remediation=(
            f"{HOW_PLINTH_EXPOSES}. A Gateway of your own needs, for each host it serves, a "
            "server with tls.mode SIMPLE and a credentialName (a Secret with the certificate, "
            "e.g. from cert-manager), and any port-80 server for the host set to "
            "tls.httpsRedirect: true; change it in the component that creates it."
        ),
        # staging and prod: passwords and tokens (MLflow's basic auth, Grafana's sign-in)
        # cross the gateway; dev is told, for a laptop cluster without a certificate yet.
        levels=ADVISORY_IN_DEV,
    ),
)
