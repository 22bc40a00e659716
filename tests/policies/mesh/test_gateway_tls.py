"""gateway-hosts-tls, through the pack as `plinth check` runs it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policy_harness import hits, kubernetes

RULE = "gateway-hosts-tls"
GATEWAY_NAMESPACE = "istio-ingress"
HOST = "mlflow.prod.example.com"
HTTPS: dict[str, Any] = {
    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
    "hosts": ["*.prod.example.com"],
    "tls": {"mode": "SIMPLE", "credentialName": "gateway-tls"},
}
HTTP_REDIRECT: dict[str, Any] = {
    "port": {"number": 80, "name": "http", "protocol": "HTTP"},
    "hosts": ["*.prod.example.com"],
    "tls": {"httpsRedirect": True},
}


def gateway(*servers: dict[str, Any]) -> dict[str, Any]:
    """The platform gateway as plinth:mesh creates it (default: HTTPS + redirect)."""
    chosen = list(servers) if servers else [HTTPS, HTTP_REDIRECT]
    return kubernetes(
        "networking.istio.io/v1",
        "Gateway",
        {
            "metadata": {"name": "platform-gateway", "namespace": GATEWAY_NAMESPACE},
            "spec": {"selector": {"istio": "ingressgateway"}, "servers": copy.deepcopy(chosen)},
        },
    )


def route(
    host: str = HOST,
    gateways: tuple[str, ...] = (f"{GATEWAY_NAMESPACE}/platform-gateway",),
    namespace: str = GATEWAY_NAMESPACE,
) -> dict[str, Any]:
    """A VirtualService exposing MLflow through the gateway."""
    return kubernetes(
        "networking.istio.io/v1",
        "VirtualService",
        {
            "metadata": {"name": "mlflow", "namespace": namespace},
            "spec": {
                "hosts": [host],
                "gateways": list(gateways),
                "http": [{"route": [{"destination": {"host": "mlflow.mlflow.svc.cluster.local"}}]}],
            },
        },
    )


def server(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(base), **changes}


def test_a_host_served_over_tls_with_a_redirect_passes() -> None:
    assert hits(RULE, gateway(), route()) == []


@pytest.mark.parametrize(
    "tls",
    [
        {"mode": "MUTUAL", "credentialName": "gateway-tls"},
        {"mode": "OPTIONAL_MUTUAL", "credentialNames": ["rsa", "ecdsa"]},
        {"mode": "ISTIO_MUTUAL"},
        {"mode": "SIMPLE", "serverCertificate": "/etc/c.pem", "privateKey": "/etc/k.pem"},
    ],
    ids=["mutual", "optional-mutual", "istio-mutual", "certificate-files"],
)
def test_every_terminating_mode_with_a_certificate_passes(tls: dict[str, Any]) -> None:
    assert hits(RULE, gateway(server(HTTPS, tls=tls)), route()) == []


def test_a_host_served_only_in_plain_http_is_refused() -> None:
    plain = server(HTTP_REDIRECT, tls=None)
    found = hits(RULE, gateway(plain), route())
    messages = [v.message for v in found]
    assert len(found) == 2, messages
    assert any(
        "has no server for mlflow.prod.example.com that terminates TLS" in m for m in messages
    )
    assert any(
        "server port 80 (HTTP) serves mlflow.prod.example.com in plain text" in m for m in messages
    )
    assert {v.urn for v in found} == {route()["urn"]}


def test_a_plain_http_server_beside_tls_must_redirect() -> None:
    found = hits(RULE, gateway(HTTPS, server(HTTP_REDIRECT, tls={})), route())
    assert len(found) == 1
    assert "give it tls.httpsRedirect: true" in found[0].message


@pytest.mark.parametrize(
    "tls",
    [{"mode": "SIMPLE"}, {"mode": "PASSTHROUGH"}],
    ids=["no-certificate", "passthrough"],
)
def test_tls_without_a_certificate_or_not_terminated_is_refused(tls: dict[str, Any]) -> None:
    found = hits(RULE, gateway(server(HTTPS, tls=tls), HTTP_REDIRECT), route())
    assert any("that terminates TLS" in v.message for v in found)


def test_a_host_no_server_of_the_gateway_serves_is_refused() -> None:
    found = hits(RULE, gateway(), route(host="mlflow.other.example.org"))
    assert len(found) == 1
    assert "no server for mlflow.other.example.org" in found[0].message


def test_a_route_through_a_gateway_the_stack_does_not_declare_is_refused() -> None:
    found = hits(RULE, route(gateways=("edge/public",)))
    assert len(found) == 1
    assert "Gateway edge/public, which the stack does not declare" in found[0].message


def test_the_mesh_gateway_and_a_short_gateway_name_are_resolved() -> None:
    same_namespace = route(gateways=("platform-gateway", "mesh"))
    assert hits(RULE, gateway(), same_namespace) == []
    elsewhere = route(gateways=("platform-gateway",), namespace="team-a")
    assert len(hits(RULE, gateway(), elsewhere)) == 1  # looks for team-a/platform-gateway


def test_a_server_host_restricted_to_another_namespace_does_not_serve_the_route() -> None:
    restricted = server(HTTPS, hosts=[f"monitoring/{HOST}"])
    found = hits(RULE, gateway(restricted, HTTP_REDIRECT), route())
    assert any("that terminates TLS" in v.message for v in found)
    own_namespace = server(HTTPS, hosts=[f"./{HOST}"])
    assert hits(RULE, gateway(own_namespace, HTTP_REDIRECT), route()) == []


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_level_per_tier(tier: str, level: str) -> None:
    found = hits(RULE, gateway(server(HTTP_REDIRECT, tls=None)), route(), tier=tier)
    assert found
    assert {v.level for v in found} == {level}
