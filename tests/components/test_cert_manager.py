"""cert-manager: the pinned chart with real image tags, its CRD stage, the cluster issuer
of each kind, its metrics with monitoring, and its settings' errors."""

from __future__ import annotations

from typing import Any

import pytest

from components import versions
from components.cert_manager import COMPONENT as CERT_MANAGER
from components.cert_manager.args import ISTIO_INGRESS_CLASS, LETS_ENCRYPT, CertManagerArgs
from components.cert_manager.component import CRD_FILES
from tests.components.mesh_fixtures import build, entry_of, objects
from tests.conftest import SynthesizedEnvironment
from tests.stacks.test_config import error_of, valid_values

COMPONENT_TYPE = "plinth:security:CertManager"
CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"


def children(env: SynthesizedEnvironment, type_token: str) -> list[dict[str, Any]]:
    parents = {e["urn"] for e in env.of_type(COMPONENT_TYPE)}
    return [e for e in env.of_type(type_token) if e["parent"] in parents]


def cluster_issuers(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"] for o in objects(entries, "ClusterIssuer")}


def test_the_pinned_chart_with_its_crds_as_their_own_stage(env: SynthesizedEnvironment) -> None:
    (chart,) = children(env, CHART)
    inputs = chart["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]["repo"]) == (
        "cert-manager",
        versions.CERT_MANAGER_CHART,
        versions.CERT_MANAGER_CHART_REPO,
    )
    assert inputs["values"]["crds"] == {"enabled": False}
    crds = children(env, CONFIG_FILE)
    assert sorted(e["inputs"]["file"] for e in crds) == [
        f"{versions.CERT_MANAGER_CRD_BASE}/{name}" for name in sorted(CRD_FILES)
    ]
    assert {e["urn"] for e in crds} <= set(chart["dependencies"])
    rendered = [e for e in env.entries if e["parent"] == chart["urn"]]
    assert not [e for e in rendered if e["inputs"].get("kind") == "CustomResourceDefinition"]


def test_every_image_is_the_release_not_the_placeholder(env: SynthesizedEnvironment) -> None:
    deployments = [
        o
        for o in env.objects
        if o["kind"] == "Deployment"
        and o["metadata"]["namespace"] == env.environment.platform.args(CERT_MANAGER).namespace
    ]
    assert len(deployments) == 3  # controller, webhook, cainjector
    containers = [c for d in deployments for c in d["spec"]["template"]["spec"]["containers"]]
    for container in containers:
        assert container["image"].endswith(f":{versions.CERT_MANAGER_IMAGE_TAG}")
        assert container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The controller starts HTTP-01 solver pods with the image its argument names.
    (solver,) = [
        argument
        for container in containers
        for argument in container.get("args", [])
        if argument.startswith("--acme-http01-solver-image=")
    ]
    assert solver.endswith(f"/cert-manager-acmesolver:{versions.CERT_MANAGER_IMAGE_TAG}")
    assert "v0.0.0" not in str(containers)


@pytest.mark.parametrize(
    ("name", "secret"),
    [("local", "plinth-ca"), ("dev", "plinth-ca"), ("prod", "plinth-private-ca")],
)
def test_each_environment_has_its_cluster_issuer(
    synthesized: dict[str, SynthesizedEnvironment], name: str, secret: str
) -> None:
    issuers = cluster_issuers(synthesized[name].entries)
    assert issuers["plinth"] == {"ca": {"secretName": secret}}


def test_the_self_signed_ca_signs_the_ca_certificate_the_issuer_uses() -> None:
    entries = build()
    issuers = cluster_issuers(entries)
    assert issuers["plinth-selfsigned"] == {"selfSigned": {}}
    certificate = entry_of(entries, "Certificate", "plinth-ca")
    spec = certificate["inputs"]["spec"]
    assert spec["isCA"] is True
    assert spec["issuerRef"]["name"] == "plinth-selfsigned"
    assert issuers["plinth"] == {"ca": {"secretName": spec["secretName"]}}
    issuer = entry_of(entries, "ClusterIssuer", "plinth")
    assert certificate["urn"] in issuer["dependencies"]


def acme(**settings: Any) -> CertManagerArgs:
    return CertManagerArgs.model_validate(
        {"issuer": "acme", "acme": {"email": "ops@example.com", **settings}}
    )


def test_an_acme_issuer_with_a_dns01_solver() -> None:
    route53 = {"route53": {"region": "eu-west-1"}}
    spec = cluster_issuers(build(cert_manager=acme(dns01=route53)))["plinth"]["acme"]
    assert (spec["server"], spec["email"]) == (LETS_ENCRYPT, "ops@example.com")
    assert spec["solvers"] == [{"dns01": route53}]
    assert spec["privateKeySecretRef"] == {"name": "plinth-acme-account"}
    assert set(cluster_issuers(build(cert_manager=acme(dns01=route53)))) == {"plinth"}


def test_an_acme_issuer_with_http01_through_the_istio_gateway() -> None:
    spec = cluster_issuers(build(cert_manager=acme(solver="http01")))["plinth"]["acme"]
    assert spec["solvers"] == [{"http01": {"ingress": {"ingressClassName": ISTIO_INGRESS_CLASS}}}]


def test_a_private_ca_issuer_uses_the_existing_secret() -> None:
    settings = CertManagerArgs.model_validate(
        {"issuer": "private-ca", "private_ca": {"secret_name": "corp-ca"}}
    )
    assert cluster_issuers(build(cert_manager=settings)) == {
        "plinth": {"ca": {"secretName": "corp-ca"}}
    }


def test_metrics_are_scraped_once_monitoring_is_deployed() -> None:
    def chart(entries: list[dict[str, Any]]) -> dict[str, Any]:
        (found,) = [
            e for e in entries if e["type"] == CHART and e["inputs"]["chart"] == "cert-manager"
        ]
        return found

    monitored = chart(build(monitored=True))
    assert monitored["inputs"]["values"]["prometheus"]["servicemonitor"]["enabled"] is True
    assert any("prometheus-operator-crds" in urn for urn in monitored["dependencies"])
    alone = chart(build())
    assert alone["inputs"]["values"]["prometheus"]["servicemonitor"]["enabled"] is False


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"issuer": "acme"}, "issuer is acme but acme.email is not set"),
        ({"issuer": "private-ca"}, "issuer is private-ca but private_ca.secret_name is not set"),
        ({"acme": {"email": "ops@example.com"}}, "acme is set but issuer is self-signed-ca"),
        (
            {"private_ca": {"secret_name": "corp-ca"}},
            "private_ca is set but issuer is self-signed-ca",
        ),
        ({"issuer": "acme", "acme": {"email": "ops@example.com"}}, "acme.dns01 is empty"),
        (
            {
                "issuer": "acme",
                "acme": {"email": "o@example.com", "solver": "http01", "dns01": {"x": {}}},
            },
            "acme.dns01 is set but acme.solver is http01",
        ),
        ({"issuer": "acme", "acme": {"email": "not-an-address", "solver": "http01"}}, "email"),
        ({"issuer": "vault"}, "issuer"),
    ],
)
def test_bad_issuer_settings_are_one_line_errors(settings: dict[str, Any], expected: str) -> None:
    assert expected in error_of(valid_values(cert_manager=settings))
