"""The Istio mesh: pinned charts and images, CRD stage, mTLS and authorization, the one
gateway (Service, TLS, rate limit), injection, and its settings' errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components import versions
from components.cert_manager import COMPONENT as CERT_MANAGER
from components.mesh import COMPONENT as MESH
from components.mesh.args import GATEWAY_NAME, MeshArgs, RateLimitArgs, RateLimitRule
from components.mesh.component import (
    GATEWAY_SELECTOR,
    GATEWAY_TLS_SECRET,
    ISTIO_CRDS,
    PROXY_IMAGE,
    service_annotations,
)
from components.mesh.rate_limit import FILTER, FILTER_TYPE, local_rate_limit_config
from tests.components.mesh_fixtures import GRAFANA, PROMETHEUS, build, entry_of, objects
from tests.conftest import SynthesizedEnvironment
from tests.stacks.test_config import error_of, load, valid_values

MESH_TYPE = "plinth:mesh:Mesh"
CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
EXTERNAL = ("LoadBalancer", "NodePort")


def mesh_children(env: SynthesizedEnvironment, type_token: str) -> list[dict[str, Any]]:
    parents = {e["urn"] for e in env.of_type(MESH_TYPE)}
    return [e for e in env.of_type(type_token) if e["parent"] in parents]


def charts(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    return {e["inputs"]["chart"]: e for e in mesh_children(env, CHART)}


def one(env: SynthesizedEnvironment, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in env.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def mesh_args(env: SynthesizedEnvironment) -> MeshArgs:
    return env.environment.platform.args(MESH)


def test_every_environment_deploys_the_mesh_from_the_pinned_charts(
    env: SynthesizedEnvironment,
) -> None:
    assert len(env.of_type(MESH_TYPE)) == 1
    found = charts(env)
    assert set(found) == {"base", "istiod", "gateway"}
    for chart in found.values():
        inputs = chart["inputs"]
        assert (inputs["version"], inputs["repositoryOpts"]["repo"]) == (
            versions.ISTIO_CHART,
            versions.ISTIO_CHART_REPO,
        )
        assert inputs["skipCrds"] is True
    istiod = found["istiod"]["inputs"]["values"]["global"]
    assert (istiod["hub"], istiod["tag"]) == ("docker.io/istio", "1.30.3")


def test_rendered_images_are_the_published_ones(env: SynthesizedEnvironment) -> None:
    images = {
        container["image"]
        for obj in env.objects
        if obj["kind"] == "Deployment" and obj["metadata"]["namespace"].startswith("istio-")
        for container in obj["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"docker.io/istio/pilot:{versions.ISTIO_TAG}", PROXY_IMAGE}
    assert not any("testing" in image or image == "auto" for image in images)


def test_istio_crds_are_their_own_stage_and_the_base_chart_renders_none(
    env: SynthesizedEnvironment, upstream: Path
) -> None:
    (crd_file,) = mesh_children(env, CONFIG_FILE)
    assert crd_file["inputs"]["file"] == f"{versions.ISTIO_CRD_BASE}/crd-all.gen.yaml"
    release = yaml.safe_load_all((upstream / "istio/1.30.3/crds/crd-all.gen.yaml").read_text())
    assert sorted(d["metadata"]["name"] for d in release if d) == list(ISTIO_CRDS)
    base = charts(env)["base"]
    assert base["inputs"]["values"]["base"]["excludedCRDs"] == list(ISTIO_CRDS)
    rendered_by_charts = [
        e for e in env.entries if e["parent"] in {c["urn"] for c in charts(env).values()}
    ]
    assert not [
        e for e in rendered_by_charts if e["inputs"].get("kind") == "CustomResourceDefinition"
    ]
    for chart in ("base", "istiod"):  # and the gateway waits for istiod (below)
        assert crd_file["urn"] in charts(env)[chart]["dependencies"], chart


def test_the_gateway_chart_waits_for_istiod(env: SynthesizedEnvironment) -> None:
    found = charts(env)
    assert found["istiod"]["urn"] in found["gateway"]["dependencies"]


def test_mutual_tls_is_strict_mesh_wide_and_authorization_denies_by_default(
    env: SynthesizedEnvironment,
) -> None:
    root = mesh_args(env).namespace
    peer = one(env, "PeerAuthentication", "default")
    assert peer["metadata"]["namespace"] == root
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}
    deny = one(env, "AuthorizationPolicy", "default-deny")
    assert deny["metadata"]["namespace"] == root
    assert not deny.get("spec")  # ALLOW with no rules: matches nothing
    allow = one(env, "AuthorizationPolicy", "allow-gateway-hosts")
    assert allow["spec"]["selector"]["matchLabels"] == GATEWAY_SELECTOR
    hosts = allow["spec"]["rules"][0]["to"][0]["operation"]["hosts"]
    for host in mesh_args(env).gateway.hosts:
        assert {host, f"{host}:*"} <= set(hosts)


def test_the_gateway_is_the_only_external_service(env: SynthesizedEnvironment) -> None:
    args = mesh_args(env)
    external = [
        o for o in env.objects if o["kind"] == "Service" and o["spec"].get("type") in EXTERNAL
    ]
    gateway = one(env, "Service", GATEWAY_NAME)
    assert gateway["metadata"]["namespace"] == args.gateway_namespace
    assert gateway["spec"]["type"] == args.gateway.service_type
    assert external == ([gateway] if args.gateway.service_type in EXTERNAL else [])
    pods = one(env, "Deployment", GATEWAY_NAME)["spec"]["template"]["metadata"]["labels"]
    assert GATEWAY_SELECTOR.items() <= pods.items()


@pytest.mark.parametrize(
    ("name", "service_type"),
    [
        ("local", "ClusterIP"),
        ("onprem", "NodePort"),
        ("dev", "LoadBalancer"),
        ("prod", "LoadBalancer"),
    ],
)
def test_the_gateway_service_type_per_environment(
    synthesized: dict[str, SynthesizedEnvironment], name: str, service_type: str
) -> None:
    assert one(synthesized[name], "Service", GATEWAY_NAME)["spec"]["type"] == service_type


def test_prod_on_eks_gets_an_internal_network_load_balancer(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    prod = one(synthesized["prod"], "Service", GATEWAY_NAME)["metadata"]["annotations"]
    assert prod["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert prod["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert prod["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    dev = one(synthesized["dev"], "Service", GATEWAY_NAME)["metadata"].get("annotations") or {}
    assert "service.beta.kubernetes.io/aws-load-balancer-internal" not in dev
    assert dev["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"


def test_internal_load_balancer_annotations_follow_the_cloud() -> None:
    internal = MeshArgs.model_validate({"gateway": {"internal": True}})
    azure = service_annotations(internal, "azure")
    assert azure == {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    assert service_annotations(MeshArgs(), "azure") == {}
    assert service_annotations(internal, None) == {}  # a bare cluster's balancer decides
    node_port = MeshArgs.model_validate({"gateway": {"internal": True, "service_type": "NodePort"}})
    assert service_annotations(node_port, "aws") == {}


def test_gateway_tls_comes_from_a_cert_manager_certificate(env: SynthesizedEnvironment) -> None:
    args = mesh_args(env)
    certificate = one(env, "Certificate", GATEWAY_TLS_SECRET)
    assert certificate["metadata"]["namespace"] == args.gateway_namespace
    assert certificate["spec"]["dnsNames"] == list(args.gateway.hosts)
    issuer = env.environment.platform.args(CERT_MANAGER).issuer_name
    assert certificate["spec"]["issuerRef"] == {
        "name": issuer,
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    gateway = one(env, "Gateway", "platform-gateway")
    https, http = gateway["spec"]["servers"]
    assert https["tls"] == {"mode": "SIMPLE", "credentialName": certificate["spec"]["secretName"]}
    assert https["hosts"] == http["hosts"] == list(args.gateway.hosts)
    assert http["tls"] == {"httpsRedirect": True}


def typed_config(env: SynthesizedEnvironment) -> dict[str, Any]:
    envoy_filter = one(env, "EnvoyFilter", "gateway-local-rate-limit")
    assert envoy_filter["spec"]["workloadSelector"]["labels"] == GATEWAY_SELECTOR
    (patch,) = envoy_filter["spec"]["configPatches"]
    assert patch["applyTo"] == "HTTP_FILTER"
    assert patch["patch"]["operation"] == "INSERT_BEFORE"
    assert patch["patch"]["value"]["name"] == FILTER
    config: dict[str, Any] = patch["patch"]["value"]["typed_config"]
    assert config["@type"] == FILTER_TYPE
    return config


def test_the_rate_limit_follows_each_environment(env: SynthesizedEnvironment) -> None:
    limits = mesh_args(env).rate_limit
    config = typed_config(env)
    assert config["token_bucket"]["tokens_per_fill"] == limits.requests_per_minute
    assert config["token_bucket"]["fill_interval"] == "60s"
    expected = [
        ({"host": r.host, "path": r.path_prefix}, r.requests_per_minute)
        for _, r in sorted(limits.rules.items())
    ]
    found = [
        ({e["key"]: e["value"] for e in d["entries"]}, d["token_bucket"]["tokens_per_fill"])
        for d in config.get("descriptors", [])
    ]
    assert found == expected


def test_environments_set_different_rate_limits(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    buckets = {
        name: typed_config(synthesized[name])["token_bucket"]["tokens_per_fill"]
        for name in ("local", "staging", "prod")
    }
    assert len(set(buckets.values())) == 3


def test_a_rule_turns_host_and_path_prefix_into_its_descriptor() -> None:
    rule = RateLimitRule(host="ml.example.com", path_prefix="/api/", requests_per_minute=7)
    config = local_rate_limit_config(RateLimitArgs(requests_per_minute=100, rules={"api": rule}))
    (limits,) = config["rate_limits"]
    host, path = limits["actions"]
    assert host["request_headers"] == {"header_name": ":authority", "descriptor_key": "host"}
    match = path["header_value_match"]
    assert (match["descriptor_key"], match["descriptor_value"]) == ("path", "/api/")
    assert match["headers"] == [{"name": ":path", "string_match": {"prefix": "/api/"}}]
    (descriptor,) = config["descriptors"]
    assert descriptor["token_bucket"]["max_tokens"] == 7
    assert "descriptors" not in local_rate_limit_config(RateLimitArgs())


def test_no_environment_injects_a_namespace_yet(env: SynthesizedEnvironment) -> None:
    assert not [e for e in env.entries if e["type"] == "kubernetes:core/v1:NamespacePatch"]
    for namespace in (o for o in env.objects if o["kind"] == "Namespace"):
        assert "istio-injection" not in namespace["metadata"].get("labels", {})


@pytest.fixture(scope="module")
def monitored() -> list[dict[str, Any]]:
    return build(MeshArgs.model_validate({"injected_namespaces": ["serving"]}), monitored=True)


def test_injected_namespaces_get_the_injection_label(monitored: list[dict[str, Any]]) -> None:
    (patch,) = [e for e in monitored if e["type"] == "kubernetes:core/v1:NamespacePatch"]
    assert patch["inputs"]["metadata"] == {
        "name": "serving",
        "labels": {"istio-injection": "enabled"},
    }


def test_with_monitoring_istio_is_scraped_once_its_crds_exist(
    monitored: list[dict[str, Any]],
) -> None:
    (crds,) = [e["urn"] for e in monitored if e["name"] == "prometheus-operator-crds"]
    service_monitor = entry_of(monitored, "ServiceMonitor", "istiod")
    assert service_monitor["inputs"]["spec"]["selector"] == {"matchLabels": {"istio": "pilot"}}
    pod_monitor = entry_of(monitored, "PodMonitor", "istio-proxies")
    assert pod_monitor["inputs"]["spec"]["namespaceSelector"] == {"any": True}
    for monitor in (service_monitor, pod_monitor):
        assert crds in monitor["dependencies"]


def test_with_monitoring_grafana_is_routed_through_the_gateway(
    monitored: list[dict[str, Any]],
) -> None:
    route = entry_of(monitored, "VirtualService", "grafana")["inputs"]["spec"]
    assert route["hosts"] == [MeshArgs().gateway.hosts[0]]
    assert route["gateways"] == ["istio-ingress/platform-gateway"]
    destination = route["http"][0]["route"][0]["destination"]
    assert destination == {"host": GRAFANA.host, "port": {"number": GRAFANA.port}}
    # Prometheus has no login of its own: it is reached by port-forward, never routed.
    assert [o["spec"]["hosts"] for o in objects(monitored, "VirtualService")] == [route["hosts"]]
    allow = entry_of(monitored, "AuthorizationPolicy", "allow-gateway-to-grafana")["inputs"]
    assert allow["metadata"]["namespace"] == GRAFANA.namespace
    principals = allow["spec"]["rules"][0]["from"][0]["source"]["principals"]
    assert principals == [f"cluster.local/ns/istio-ingress/sa/{GATEWAY_NAME}"]


def test_with_monitoring_prometheus_may_scrape_metrics_paths_only(
    monitored: list[dict[str, Any]],
) -> None:
    rule = entry_of(monitored, "AuthorizationPolicy", "allow-metrics-scrape")["inputs"]["spec"]
    (allowed,) = rule["rules"]
    assert allowed["from"] == [{"source": {"namespaces": [PROMETHEUS.namespace]}}]
    assert allowed["to"][0]["operation"]["methods"] == ["GET"]


def test_without_monitoring_nothing_refers_to_it() -> None:
    entries = build()
    for kind in ("ServiceMonitor", "PodMonitor", "VirtualService"):
        assert objects(entries, kind) == [], kind
    names = {o["metadata"]["name"] for o in objects(entries, "AuthorizationPolicy")}
    assert names == {"default-deny", "allow-gateway-hosts"}


@pytest.mark.parametrize(
    ("mesh", "expected"),
    [
        ({"mode": "ambient"}, "mode is ambient"),
        ({"gateway_namespace": "istio-system"}, "give the gateway its own namespace"),
        (
            {
                "rate_limit": {
                    "rules": {"api": {"host": "other.example.com", "requests_per_minute": 5}}
                }
            },
            "rate_limit.rules.api.host is other.example.com, not one of gateway.hosts",
        ),
        (
            {
                "gateway": {"hosts": ["*.example.com"]},
                "rate_limit": {
                    "rules": {"all": {"host": "*.example.com", "requests_per_minute": 5}}
                },
            },
            "name one host, not a wildcard",
        ),
        ({"grafana_host": "grafana.example.com"}, "grafana_host is grafana.example.com"),
        ({"injected_namespaces": ["istio-ingress"]}, "injected_namespaces lists istio-ingress"),
        ({"gateway": {"min_replicas": 4, "max_replicas": 2}}, "gateway.min_replicas (4)"),
        ({"gateway": {"service_type": "ExternalName"}}, "service_type"),
    ],
)
def test_bad_mesh_settings_are_one_line_errors(mesh: dict[str, Any], expected: str) -> None:
    assert expected in error_of(valid_values(mesh=mesh))


def test_the_mesh_requires_cert_manager() -> None:
    message = error_of(valid_values(cert_manager={"enabled": False}))
    assert "cert_manager" in message
    assert "mesh" in message


HTTP01 = {"issuer": "acme", "acme": {"email": "ops@example.com", "solver": "http01"}}


def test_an_http01_challenge_needs_a_gateway_the_acme_server_reaches() -> None:
    hidden = {"gateway": {"service_type": "ClusterIP"}}
    message = error_of(valid_values(cert_manager=HTTP01, mesh=hidden))
    assert "cert_manager.acme.solver is http01" in message
    assert "set cert_manager.acme.solver to dns01" in message
    assert load(valid_values(cert_manager=HTTP01)).args(MESH).gateway.service_type == "LoadBalancer"
