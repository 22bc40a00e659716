"""grafana-no-anonymous-admin, grafana-no-anonymous-access, alert-receivers-set and
namespaces-scraped, through the pack as `plinth check` runs it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_harness import entry, hits, kubernetes

ANONYMOUS_ADMIN = "grafana-no-anonymous-admin"
ANONYMOUS = "grafana-no-anonymous-access"
RECEIVERS = "alert-receivers-set"
SCRAPED = "namespaces-scraped"
V4_CHART = "kubernetes:helm.sh/v4:Chart"
INI = "[server]\nroot_url = http://localhost\n[auth.anonymous]\nenabled = {enabled}\n{role}"


def grafana_ini(enabled: str = "false", role: str = "") -> dict[str, Any]:
    """Grafana's rendered ConfigMap with `[auth.anonymous]` as given."""
    text = INI.format(enabled=enabled, role=f"org_role = {role}\n" if role else "")
    return kubernetes(
        "v1",
        "ConfigMap",
        {"metadata": {"name": "grafana", "namespace": "monitoring"}, "data": {"grafana.ini": text}},
    )


def grafana_deployment(**env: str) -> dict[str, Any]:
    container = {"name": "grafana", "env": [{"name": k, "value": v} for k, v in env.items()]}
    return kubernetes(
        "apps/v1",
        "Deployment",
        {
            "metadata": {"name": "grafana", "namespace": "monitoring"},
            "spec": {"template": {"spec": {"containers": [container]}}},
        },
    )


def stack_chart(receivers: list[dict[str, Any]] | None = None, **values: Any) -> dict[str, Any]:
    """kube-prometheus-stack as the monitoring component declares it."""
    alertmanager: dict[str, Any] = {}
    if receivers is not None:
        alertmanager["config"] = {"route": {"receiver": "platform"}, "receivers": receivers}
    return entry(
        V4_CHART,
        {
            "chart": "kube-prometheus-stack",
            "version": "88.5.3",
            "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
            "values": {"alertmanager": alertmanager, **values},
        },
        name="prod-monitoring",
    )


ANONYMOUS_ADMIN_INI = {"enabled": True, "org_role": "Admin"}
WEBHOOK: dict[str, Any] = {
    "name": "platform",
    "webhook_configs": [{"url_file": "/etc/alertmanager/x"}],
}


def namespace(name: str) -> dict[str, Any]:
    return kubernetes("v1", "Namespace", {"metadata": {"name": name}}, name=f"ns-{name}")


def prometheus() -> dict[str, Any]:
    return kubernetes(
        "monitoring.coreos.com/v1",
        "Prometheus",
        {"metadata": {"name": "monitoring-prometheus", "namespace": "monitoring"}, "spec": {}},
    )


def pod_monitor(namespace_name: str, selector: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {}, "podMetricsEndpoints": [{"port": "metrics"}]}
    if selector is not None:
        spec["namespaceSelector"] = selector
    return kubernetes(
        "monitoring.coreos.com/v1",
        "PodMonitor",
        {"metadata": {"name": "job-metrics", "namespace": namespace_name}, "spec": spec},
        name=f"pm-{namespace_name}",
    )


def scraped_jobs() -> tuple[dict[str, Any], ...]:
    """Prometheus, and the jobs namespace with a PodMonitor of its own."""
    return prometheus(), namespace("ml-jobs"), pod_monitor("ml-jobs")


# -- Grafana -----------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["dev", "prod"])
def test_grafana_without_anonymous_access_passes(tier: str) -> None:
    for subject in (grafana_ini(), grafana_deployment(GF_SECURITY_ADMIN_USER="admin")):
        assert hits(ANONYMOUS_ADMIN, subject, tier=tier) == []
        assert hits(ANONYMOUS, subject, tier=tier) == []


@pytest.mark.parametrize(
    "subject",
    [
        grafana_ini("true", "Admin"),
        grafana_deployment(GF_AUTH_ANONYMOUS_ENABLED="true", GF_AUTH_ANONYMOUS_ORG_ROLE="Admin"),
        stack_chart(
            [WEBHOOK],
            grafana={"grafana.ini": {"auth.anonymous": {"enabled": True, "org_role": "Admin"}}},
        ),
    ],
    ids=["grafana.ini", "environment", "chart-value"],
)
@pytest.mark.parametrize("tier", ["dev", "prod"])
def test_anonymous_admin_is_refused_in_every_tier(subject: dict[str, Any], tier: str) -> None:
    found = hits(ANONYMOUS_ADMIN, subject, tier=tier)
    assert [v.urn for v in found] == [subject["urn"]]
    assert "org_role Admin" in found[0].message


def test_anonymous_viewers_pass_the_admin_rule_but_not_prod() -> None:
    viewer = grafana_ini("true", "Viewer")
    assert hits(ANONYMOUS_ADMIN, viewer) == []
    found = hits(ANONYMOUS, viewer, tier="prod")
    assert [v.urn for v in found] == [viewer["urn"]]
    assert "anonymous access (org_role Viewer)" in found[0].message


# -- Alertmanager receivers ----------------------------------------------------------------


def test_a_receiver_that_sends_passes() -> None:
    email: dict[str, Any] = {"name": "platform", "email_configs": [{"to": "oncall@example.com"}]}
    webhook: list[dict[str, Any]] = [{"name": "null"}, WEBHOOK]
    for receivers in (webhook, [email]):
        assert hits(RECEIVERS, stack_chart(receivers), tier="prod") == []


@pytest.mark.parametrize(
    "receivers",
    [None, [{"name": "null"}], [{"name": "platform", "webhook_configs": []}]],
    ids=["chart-default", "null-only", "empty-configs"],
)
def test_receivers_that_send_nowhere_are_refused_in_prod(
    receivers: list[dict[str, Any]] | None,
) -> None:
    subject = stack_chart(receivers)
    found = hits(RECEIVERS, subject, tier="prod")
    assert [v.urn for v in found] == [subject["urn"]]
    assert "plinth:monitoring.alert_receiver" in found[0].message


def test_a_disabled_alertmanager_or_another_chart_is_not_judged() -> None:
    disabled = stack_chart(None)
    disabled["inputs"]["values"]["alertmanager"]["enabled"] = False
    other = stack_chart(None)
    other["inputs"]["chart"] = "spark-operator"
    assert hits(RECEIVERS, disabled, other, tier="prod") == []


# -- namespaces scraped ----------------------------------------------------------------------


def test_a_namespace_with_a_monitor_passes() -> None:
    assert hits(SCRAPED, *scraped_jobs()) == []
    elsewhere = pod_monitor("monitoring", {"matchNames": ["ml-jobs"]})
    assert hits(SCRAPED, prometheus(), namespace("ml-jobs"), elsewhere) == []
    everywhere = pod_monitor("monitoring", {"any": True})
    assert hits(SCRAPED, prometheus(), namespace("ml-jobs"), everywhere) == []


def test_a_workload_namespace_nothing_scrapes_is_refused() -> None:
    lonely = namespace("team-a")
    found = hits(SCRAPED, *scraped_jobs(), lonely)
    assert [v.urn for v in found] == [lonely["urn"]]
    assert "workload namespace team-a is scraped by no ServiceMonitor or PodMonitor" in (
        found[0].message
    )


def test_platform_and_exempt_namespaces_need_no_monitor() -> None:
    config = {
        SCRAPED: {
            "platformNamespaces": ["spark-operator"],
            "exemptNamespaces": [{"namespace": "team-a", "reason": "batch only, no endpoints"}],
        }
    }
    subjects = (*scraped_jobs(), namespace("spark-operator"), namespace("team-a"))
    assert hits(SCRAPED, *subjects, config=config) == []


def test_without_prometheus_nothing_is_judged() -> None:
    assert hits(SCRAPED, namespace("team-a")) == []
