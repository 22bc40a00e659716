"""The monitoring component: what it renders per environment, its dashboards and their
metric sources, and its settings."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

import pytest
from pydantic import ValidationError

from components.cluster import ScrapeTarget
from components.monitoring import COMPONENT as MONITORING
from components.monitoring.args import AlertReceiver, MonitoringArgs
from components.monitoring.metric_sources import METRIC_SOURCES, markdown_table
from components.monitoring.names import (
    DASHBOARD_LABEL,
    GRAFANA,
    GRAFANA_PORT,
    PROMETHEUS,
    PROMETHEUS_PORT,
)
from components.monitoring.rules import rule_groups
from tests.components.test_components import Variant, variant  # noqa: F401 (the `variant` fixture)
from tests.conftest import ROOT, SynthesizedEnvironment

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}  # fmt: skip
LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
PANEL_TYPES = {"timeseries", "stat", "gauge", "table", "bargauge"}
GRID_COLUMNS = 24
CHART = "kubernetes:helm.sh/v4:Chart"


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (in matchers or label lists) or template variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = LABEL_LISTS.sub("", text)
    text = re.sub(r"\$\w+", "", text)  # Grafana variables
    names = set()
    for match in IDENTIFIER.finditer(text):
        rest = text[match.end() :].lstrip()
        if not rest.startswith("(") and match.group().lower() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


def dashboards(env: SynthesizedEnvironment) -> list[dict[str, Any]]:
    """The dashboards of Plinth's ConfigMaps, as Grafana's sidecar finds them."""
    found = []
    for obj in env.objects:
        labels = obj["metadata"].get("labels") or {}
        ours = "plinth" in obj["metadata"]["name"]
        if obj["kind"] == "ConfigMap" and labels.get(DASHBOARD_LABEL) == "1" and ours:
            found += [json.loads(text) for text in obj["data"].values()]
    return found


def one(env: SynthesizedEnvironment, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in env.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        'sum by (namespace) (rate(istio_requests_total{reporter="destination"}[5m]))'
        " / on (namespace) group_left () (kube_pod_info > 0) and time() - up"
    )
    assert metric_names(expr) == {"istio_requests_total", "kube_pod_info", "up"}


def test_every_dashboard_and_rule_metric_has_a_listed_source(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    listed = {row.metric for row in METRIC_SOURCES}
    env = synthesized["local"]
    exprs = [
        target["expr"]
        for dashboard in dashboards(env)
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
    autoscaled = [ScrapeTarget("cluster-autoscaler", "kube-system", {}, "metrics")]
    exprs += [rule["expr"] for group in rule_groups(autoscaled) for rule in group["rules"]]
    used = set().union(*(metric_names(expr) for expr in exprs))
    assert used
    assert used <= listed, sorted(used - listed)
    assert listed <= used, f"listed but never queried: {sorted(listed - used)}"


def test_the_readme_shows_the_metric_source_table() -> None:
    readme = (ROOT / "components" / "monitoring" / "README.md").read_text()
    assert markdown_table() in readme


@pytest.mark.parametrize("name", ["local", "prod"])
def test_dashboards_are_valid_grafana_dashboard_json(
    synthesized: dict[str, SynthesizedEnvironment], name: str
) -> None:
    found = dashboards(synthesized[name])
    assert {d["uid"] for d in found} == {"plinth-gpu", "plinth-spark", "plinth-training",
                                          "plinth-serving"}  # fmt: skip
    assert len({d["title"] for d in found}) == len(found)
    for dashboard in found:
        assert isinstance(dashboard["schemaVersion"], int)
        assert dashboard["schemaVersion"] >= 36
        panels = dashboard["panels"]
        assert panels, dashboard["uid"]
        assert len({p["id"] for p in panels}) == len(panels)
        for panel in panels:
            assert panel["type"] in PANEL_TYPES
            assert panel["title"]
            assert set(panel["datasource"]) == {"type", "uid"}
            grid = panel["gridPos"]
            assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y"))
            assert grid["x"] + grid["w"] <= GRID_COLUMNS
            refs = [t["refId"] for t in panel["targets"]]
            assert refs
            assert len(set(refs)) == len(refs)
            assert all(
                t["expr"] and t["datasource"] == panel["datasource"] for t in panel["targets"]
            )
        for first, second in combinations(panels, 2):
            assert not overlaps(first["gridPos"], second["gridPos"]), (first["id"], second["id"])


def overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_prometheus_keeps_samples_and_volume_as_the_tier_says(
    env: SynthesizedEnvironment,
) -> None:
    args = env.environment.platform.args(MONITORING)
    spec = one(env, "Prometheus", PROMETHEUS)["spec"]
    assert spec["retention"] == f"{args.retention_days}d"
    assert spec["retentionSize"] == f"{args.retention_size_gib}GiB"
    assert args.retention_size_gib < args.storage_size_gib
    claim = spec["storage"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{args.storage_size_gib}Gi"
    prod = env.environment.platform.tier == "prod"
    policy = spec["persistentVolumeClaimRetentionPolicy"]
    assert policy["whenDeleted"] == ("Retain" if prod else "Delete")
    assert policy["whenScaled"] == "Retain"
    (entry,) = [e for e in env.entries if e["type"].endswith(":Prometheus")]
    assert entry["retain_on_delete"] is prod


def test_prometheus_selects_every_monitor_and_rule_in_every_namespace(
    env: SynthesizedEnvironment,
) -> None:
    spec = one(env, "Prometheus", PROMETHEUS)["spec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}Selector"] == {}, kind
        assert spec[f"{kind}NamespaceSelector"] == {}, kind


def test_grafana_reads_its_admin_from_a_secret_and_allows_no_anonymous_access(
    env: SynthesizedEnvironment,
) -> None:
    args = env.environment.platform.args(MONITORING)
    deployment = one(env, "Deployment", GRAFANA)
    (grafana,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "grafana"
    ]
    env_vars = {e["name"]: e.get("valueFrom", {}) for e in grafana["env"]}
    password = env_vars["GF_SECURITY_ADMIN_PASSWORD"]["secretKeyRef"]
    assert password == {"name": args.grafana_admin_secret, "key": "admin-password"}
    ini = one(env, "ConfigMap", GRAFANA)["data"]["grafana.ini"]
    assert re.search(r"\[auth\.anonymous\]\s*enabled = false", ini)


def test_the_exposed_services_are_the_ones_the_chart_renders(env: SynthesizedEnvironment) -> None:
    namespace = env.environment.platform.args(MONITORING).namespace
    for name, port in ((GRAFANA, GRAFANA_PORT), (PROMETHEUS, PROMETHEUS_PORT)):
        service = one(env, "Service", name)
        assert service["metadata"]["namespace"] == namespace
        assert port in [p["port"] for p in service["spec"]["ports"]]


def test_the_crds_are_their_own_stage_and_the_chart_skips_its_own(
    env: SynthesizedEnvironment,
) -> None:
    (chart,) = [
        e
        for e in env.entries
        if e["type"] == "kubernetes:helm.sh/v4:Chart"
        and e["inputs"]["chart"] == "kube-prometheus-stack"
    ]
    assert chart["inputs"]["skipCrds"] is True
    assert chart["inputs"]["values"]["crds"]["enabled"] is False
    crds = [
        e for e in env.entries if e["type"] == "kubernetes:yaml/v2:ConfigFile"
        and "-monitoring-crd-" in e["name"]
    ]  # fmt: skip
    assert len(crds) == 10
    assert {c["urn"] for c in crds} <= set(chart["dependencies"])


def test_alerts_go_to_the_receiver_and_nowhere_without_one(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    def config(name: str) -> dict[str, Any]:
        (chart,) = [
            e
            for e in synthesized[name].entries
            if e["type"] == "kubernetes:helm.sh/v4:Chart" and e["name"] == f"{name}-monitoring"
        ]
        alertmanager: dict[str, Any] = chart["inputs"]["values"]["alertmanager"]
        return alertmanager

    prod = config("prod")
    assert prod["config"]["route"]["receiver"] == "platform"
    (platform,) = [r for r in prod["config"]["receivers"] if r["name"] == "platform"]
    assert platform["webhook_configs"][0]["url_file"].endswith("/webhook-url")
    assert prod["alertmanagerSpec"]["secrets"] == ["alertmanager-receiver"]
    onprem = config("onprem")
    (mail,) = [r for r in onprem["config"]["receivers"] if r["name"] == "platform"]
    assert mail["email_configs"][0]["to"] == "ml-platform-oncall@example.com"
    local = config("local")
    assert local["config"]["route"]["receiver"] == "null"
    assert local["alertmanagerSpec"]["secrets"] == []


def test_a_grafana_password_becomes_the_secret_grafana_reads(variant: Variant) -> None:  # noqa: F811
    entries = variant({"plinth:monitoring": {"grafana_admin_password": "not-in-prod"}})
    (secret,) = [e for e in entries if e["name"] == "variant-monitoring-grafana-admin"]
    assert secret["inputs"]["metadata"]["name"] == MonitoringArgs().grafana_admin_secret
    (chart,) = [e for e in entries if e["type"] == CHART and e["name"] == "variant-monitoring"]
    assert secret["urn"] in chart["dependencies"]  # Grafana starts once it exists


@pytest.mark.parametrize(
    ("receiver", "named"),
    [
        ({"smarthost": "smtp.example.com:25"}, "email_to is not"),
        ({"webhook_url": "https://x.example.com", "email_to": "a@example.com"}, "keep one"),
        ({"email_to": "a@example.com"}, "email_from or smarthost is missing"),
        ({"webhook_url": "https://x.example.com", "smtp_password": "p"}, "go together"),
    ],
    ids=["relay-without-address", "both", "email-without-relay", "password-without-user"],
)
def test_an_incomplete_receiver_is_refused(receiver: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        AlertReceiver.model_validate(receiver)
