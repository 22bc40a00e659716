"""service-external-exposure, through the pack as `plinth check` runs it."""

from __future__ import annotations

from typing import Any

import pytest

from plinth.policy_config import PolicyConfigError
from tests.policy_harness import hits, kubernetes

RULE = "service-external-exposure"


def service(service_type: str = "LoadBalancer") -> dict[str, Any]:
    """The Istio ingress gateway's Service, the one allowed by default."""
    return kubernetes(
        "v1",
        "Service",
        {
            "metadata": {"name": "istio-ingressgateway", "namespace": "istio-ingress"},
            "spec": {"type": service_type, "ports": [{"name": "https", "port": 443}]},
        },
    )


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_the_ingress_gateway_may_be_external(service_type: str) -> None:
    assert hits(RULE, service(service_type)) == []


@pytest.mark.parametrize("service_type", ["ClusterIP", "ExternalName", None])
def test_internal_services_pass_anywhere(service_type: str | None) -> None:
    subject = service()
    subject["inputs"]["metadata"]["namespace"] = "team-a"
    subject["inputs"]["spec"]["type"] = service_type
    assert hits(RULE, subject) == []


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_other_external_services_are_refused(service_type: str) -> None:
    subject = service(service_type)
    subject["inputs"]["metadata"]["name"] = "mlflow"
    found = hits(RULE, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert f"istio-ingress/mlflow is {service_type}" in found[0].message


def test_the_gateway_name_in_another_namespace_is_refused() -> None:
    subject = service()
    subject["inputs"]["metadata"]["namespace"] = "team-a"
    assert "team-a/istio-ingressgateway" in hits(RULE, subject)[0].message


def test_a_service_without_namespace_is_in_default() -> None:
    subject = service()
    del subject["inputs"]["metadata"]["namespace"]
    assert "default/istio-ingressgateway" in hits(RULE, subject)[0].message


def test_an_auto_named_service_cannot_be_allowed() -> None:
    subject = service()
    del subject["inputs"]["metadata"]["name"]
    assert "no metadata.name" in hits(RULE, subject)[0].message


def test_allowed_services_are_configurable() -> None:
    config = {RULE: {"allowedServices": ["edge/gateway"]}}
    moved = service()
    moved["inputs"]["metadata"].update(name="gateway", namespace="edge")
    assert hits(RULE, moved, config=config) == []
    assert len(hits(RULE, service(), config=config)) == 1


def test_allowed_services_must_be_namespace_slash_name() -> None:
    with pytest.raises(PolicyConfigError, match=RULE):
        hits(RULE, service(), config={RULE: {"allowedServices": ["gateway"]}})


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_level_per_tier(tier: str, level: str) -> None:
    subject = service("NodePort")
    subject["inputs"]["metadata"]["name"] = "mlflow"
    assert [found.level for found in hits(RULE, subject, tier=tier)] == [level]


def test_external_ips_are_refused_on_any_service() -> None:
    subject = service("ClusterIP")
    subject["inputs"]["spec"]["externalIPs"] = ["203.0.113.7"]
    found = hits(RULE, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert "spec.externalIPs 203.0.113.7" in found[0].message
    gateway = service()
    gateway["inputs"]["spec"]["externalIPs"] = ["203.0.113.7"]
    assert len(hits(RULE, gateway)) == 1


def test_an_empty_external_ips_list_passes() -> None:
    subject = service()
    subject["inputs"]["spec"]["externalIPs"] = []
    assert hits(RULE, subject) == []
