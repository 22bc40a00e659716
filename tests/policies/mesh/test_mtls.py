"""mesh-mtls-strict and mesh-no-mtls-downgrade, through the pack as `plinth check` runs them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_harness import entry, hits, kubernetes

STRICT = "mesh-mtls-strict"
DOWNGRADE = "mesh-no-mtls-downgrade"
ROOT = "istio-system"


def peer_authentication(mode: str = "STRICT", namespace: str = ROOT, **spec: Any) -> dict[str, Any]:
    """The mesh-wide PeerAuthentication plinth:mesh creates (one field changed per test)."""
    return kubernetes(
        "security.istio.io/v1",
        "PeerAuthentication",
        {
            "metadata": {"name": "default", "namespace": namespace},
            "spec": {"mtls": {"mode": mode}, **spec},
        },
    )


def istiod_chart() -> dict[str, Any]:
    return entry(
        "kubernetes:helm.sh/v4:Chart",
        {"chart": "istiod", "version": "1.30.3", "namespace": ROOT},
        name="prod-mesh-istiod",
    )


def mesh(*policies: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """A stack with Istio deployed, and `policies`."""
    return (istiod_chart(), *policies)


def test_a_mesh_with_a_mesh_wide_strict_policy_passes() -> None:
    assert hits(STRICT, *mesh(peer_authentication())) == []


def test_a_mesh_without_a_peer_authentication_is_refused() -> None:
    found = hits(STRICT, *mesh())
    assert [violation.urn for violation in found] == [istiod_chart()["urn"]]
    assert "no PeerAuthentication in istio-system" in found[0].message


@pytest.mark.parametrize(
    "policy",
    [
        peer_authentication(mode="PERMISSIVE"),
        peer_authentication(namespace="team-a"),
        peer_authentication(selector={"matchLabels": {"app": "grafana"}}),
    ],
    ids=["permissive", "not-the-root-namespace", "one-workload-only"],
)
def test_only_a_mesh_wide_strict_policy_counts(policy: dict[str, Any]) -> None:
    assert len(hits(STRICT, *mesh(policy))) == 1


def test_any_istio_object_means_the_mesh_is_deployed() -> None:
    gateway = kubernetes(
        "networking.istio.io/v1", "Gateway", {"metadata": {"name": "g", "namespace": "edge"}}
    )
    assert len(hits(STRICT, gateway)) == 1
    assert hits(STRICT, gateway, peer_authentication()) == []


def test_a_stack_without_istio_needs_no_peer_authentication() -> None:
    config_map = kubernetes("v1", "ConfigMap", {"metadata": {"name": "settings"}})
    assert hits(STRICT, config_map) == []


def test_the_root_namespace_is_configurable() -> None:
    config = {STRICT: {"rootNamespace": "mesh-root"}}
    moved = peer_authentication(namespace="mesh-root")
    assert hits(STRICT, *mesh(moved), config=config) == []
    assert len(hits(STRICT, *mesh(peer_authentication()), config=config)) == 1


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_strict_mtls_is_mandatory_in_prod(tier: str, level: str) -> None:
    assert [found.level for found in hits(STRICT, *mesh(), tier=tier)] == [level]


def test_a_strict_peer_authentication_is_no_downgrade() -> None:
    strict_ports = peer_authentication(portLevelMtls={"8080": {"mode": "STRICT"}})
    assert hits(DOWNGRADE, strict_ports) == []


@pytest.mark.parametrize("mode", ["PERMISSIVE", "DISABLE"])
def test_a_weaker_mode_is_refused(mode: str) -> None:
    subject = peer_authentication(mode=mode, namespace="monitoring")
    found = hits(DOWNGRADE, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert f"monitoring/default: spec.mtls.mode is {mode}" in found[0].message


@pytest.mark.parametrize("mode", ["PERMISSIVE", "DISABLE"])
def test_a_weaker_mode_on_one_port_is_refused(mode: str) -> None:
    subject = peer_authentication(portLevelMtls={"9090": {"mode": mode}})
    found = hits(DOWNGRADE, subject)
    assert len(found) == 1
    assert f"spec.portLevelMtls[9090].mode is {mode}" in found[0].message


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_downgrade_level_per_tier(tier: str, level: str) -> None:
    found = hits(DOWNGRADE, peer_authentication(mode="PERMISSIVE"), tier=tier)
    assert [violation.level for violation in found] == [level]
