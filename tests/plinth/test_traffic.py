"""Run-time traffic edges for `plinth graph`: who scrapes whom, what the gateway routes to,
from fixture objects of every kind the graph reads."""

from __future__ import annotations

from typing import Any

import pytest

from plinth.graph import build_graph, render_dot, render_mermaid
from plinth.traffic import ROUTES, SCRAPES, route_edges, scrape_edges, selects, traffic_edges
from tests.conftest import SynthesizedEnvironment

STACK = "urn:pulumi:t::plinth::pulumi:pulumi:Stack::plinth-t"


def component(name: str) -> dict[str, Any]:
    return plan_entry(f"plinth:test:{name.title()}", name, STACK, {})


def plan_entry(type_token: str, name: str, parent: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:t::plinth::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "parent": parent,
        "custom": not type_token.startswith("plinth:"),
        "dependencies": [],
        "provider": "",
        "inputs": inputs,
    }


def obj(  # noqa: PLR0917 (an object's fields, in the order a manifest gives them)
    owner: dict[str, Any],
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    spec: dict[str, Any] | None = None,
    *,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else "core"
    body: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec or {},
    }
    token = f"kubernetes:{group}/{api_version.rsplit('/', 1)[-1]}:{kind}"
    return plan_entry(token, f"{owner['name']}:{namespace}/{name}", owner["urn"], body)


MONITORING = component("monitoring")
SPARK = component("spark")
TRAINING = component("training")
MESH = component("mesh")
SERVING = component("serving")
APP = {"app": "model"}


def service(owner: dict[str, Any], name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return obj(owner, "v1", "Service", name, namespace, {"ports": [{"port": 80}]}, labels=labels)


def fixture() -> list[dict[str, Any]]:
    """Prometheus with a ServiceMonitor and a PodMonitor; a mesh with an Istio Gateway and
    VirtualService, and a Gateway API Gateway and HTTPRoute; the Services they reach."""
    pod_template = {"template": {"metadata": {"labels": {"app": "spark-operator"}}}}
    return [
        MONITORING,
        SPARK,
        TRAINING,
        MESH,
        SERVING,
        obj(MONITORING, "monitoring.coreos.com/v1", "Prometheus", "prom", "monitoring"),
        obj(
            TRAINING,
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            "training-operator",
            "kubeflow",
            {"selector": {"matchLabels": {"app": "training-operator"}}},
        ),
        service(TRAINING, "training-operator", "kubeflow", app="training-operator"),
        service(TRAINING, "unrelated", "kubeflow", app="other"),
        obj(SPARK, "apps/v1", "Deployment", "spark-operator-controller", "spark", pod_template),
        obj(
            MONITORING,
            "monitoring.coreos.com/v1",
            "PodMonitor",
            "spark",
            "monitoring",
            {
                "namespaceSelector": {"matchNames": ["spark"]},
                "selector": {
                    "matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["spark-operator"]}
                    ]
                },
            },
        ),
        obj(MESH, "networking.istio.io/v1", "Gateway", "ingress", "istio-system"),
        obj(
            MESH,
            "networking.istio.io/v1",
            "VirtualService",
            "grafana",
            "istio-system",
            {
                "gateways": ["istio-system/ingress"],
                "http": [
                    {"route": [{"destination": {"host": "grafana.monitoring.svc.cluster.local"}}]}
                ],
            },
        ),
        service(MONITORING, "grafana", "monitoring"),
        obj(MESH, "gateway.networking.k8s.io/v1", "Gateway", "public", "gateway"),
        obj(
            MESH,
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            "model",
            "serving",
            {
                "parentRefs": [{"name": "public", "namespace": "gateway"}],
                "rules": [{"backendRefs": [{"name": "model", "port": 80}]}],
            },
        ),
        service(SERVING, "model", "serving", **APP),
    ]


def urn_of(entries: list[dict[str, Any]], kind: str, name: str) -> str:
    (found,) = [
        str(e["urn"])
        for e in entries
        if e["inputs"].get("kind") == kind and e["inputs"]["metadata"]["name"] == name
    ]
    return found


def test_prometheus_scrapes_what_each_monitor_selects() -> None:
    entries = fixture()
    prometheus = urn_of(entries, "Prometheus", "prom")
    assert scrape_edges(entries) == {
        (prometheus, urn_of(entries, "Service", "training-operator"), SCRAPES),
        (prometheus, urn_of(entries, "Deployment", "spark-operator-controller"), SCRAPES),
    }


def test_the_gateways_route_to_the_services_their_routes_name() -> None:
    entries = fixture()
    assert route_edges(entries) == {
        (urn_of(entries, "Gateway", "ingress"), urn_of(entries, "Service", "grafana"), ROUTES),
        (urn_of(entries, "Gateway", "public"), urn_of(entries, "Service", "model"), ROUTES),
    }


def test_a_monitor_in_another_namespace_or_a_route_to_no_service_draws_nothing() -> None:
    entries = fixture()
    for each in entries:
        if each["inputs"].get("kind") == "PodMonitor":
            each["inputs"]["spec"]["namespaceSelector"] = {"matchNames": ["elsewhere"]}
        if each["inputs"].get("kind") == "VirtualService":
            each["inputs"]["spec"]["http"][0]["route"][0]["destination"]["host"] = "missing"
    kinds = {(edge[2], edge[1].rsplit("/", 1)[-1]) for edge in traffic_edges(entries)}
    assert kinds == {(SCRAPES, "training-operator"), (ROUTES, "model")}


def test_the_graph_draws_traffic_between_components() -> None:
    graph = build_graph(fixture())
    assert set(graph.traffic) == {
        ("c_monitoring", "c_training", SCRAPES),
        ("c_monitoring", "c_spark", SCRAPES),
        ("c_mesh", "c_monitoring", ROUTES),
        ("c_mesh", "c_serving", ROUTES),
    }
    assert 'c_mesh ==>|"routes"| c_serving' in render_mermaid(graph)
    assert '"c_monitoring" -> "c_spark" [label="scrapes"' in render_dot(graph)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"a": "1"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
    ],
)
def test_label_selectors_select_as_kubernetes_does(
    selector: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    assert selects(selector, labels) is expected


def test_every_environment_draws_monitoring_scraping_the_operators(
    env: SynthesizedEnvironment,
) -> None:
    graph = build_graph(env.entries)
    scraped = {target for source, target, kind in graph.traffic if kind == SCRAPES}
    name = env.environment.name.replace("-", "_")  # node ids are [A-Za-z0-9_]
    assert {f"c_{name}_spark", f"c_{name}_training"} <= scraped
    assert all(
        source == f"c_{name}_monitoring" for source, _, kind in graph.traffic if kind == SCRAPES
    )
