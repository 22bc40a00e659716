"""Rules for monitoring: Grafana without anonymous access, alerts that reach someone, and
every workload namespace scraped.

- `grafana-no-anonymous-admin`: Grafana's anonymous access with the Admin role hands the
  cluster's dashboards, data sources and their credentials to anyone who reaches it.
  Checked in a rendered grafana.ini (a ConfigMap key), in the `grafana.ini` chart value,
  and in a container's `GF_AUTH_ANONYMOUS_*` environment (Grafana's override of the file).
- `grafana-no-anonymous-access`: in prod, no anonymous access at all.
- `alert-receivers-set`: kube-prometheus-stack's Alertmanager with no receiver that sends
  anywhere (the chart's default: every receiver is `null`) drops every alert.
- `namespaces-scraped`: where Prometheus runs, every workload namespace has a
  ServiceMonitor or PodMonitor that selects it, or a named exemption with its reason.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from policies.framework import (
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    mapping,
    resource_rule,
    sequence,
    stack_rule,
)
from policies.kubernetes.charts import V3_RELEASE, V4_CHART
from policies.kubernetes.namespaces import NAMESPACE, PLATFORM_NAMESPACES_SCHEMA

ANONYMOUS_ADMIN_RULE = "grafana-no-anonymous-admin"
ANONYMOUS_RULE = "grafana-no-anonymous-access"
RECEIVERS_RULE = "alert-receivers-set"
SCRAPED_RULE = "namespaces-scraped"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
MONITOR_TYPES = (
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    "kubernetes:monitoring.coreos.com/v1:PodMonitor",
)
PROMETHEUS = "kubernetes:monitoring.coreos.com/v1:Prometheus"
KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"
# Alertmanager receiver keys that send somewhere (prometheus.io/docs/alerting/configuration).
SENDING = (
    "discord_configs", "email_configs", "jira_configs", "msteams_configs", "msteamsv2_configs",
    "opsgenie_configs", "pagerduty_configs", "pushover_configs", "rocketchat_configs",
    "slack_configs", "sns_configs", "telegram_configs", "victorops_configs", "webex_configs",
    "webhook_configs", "wechat_configs", "incidentio_configs",
)  # fmt: skip


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes", "on"}


def _anonymous_settings(args: ResourceValidationArgs) -> Iterator[tuple[str, Any, Any]]:
    """(where, enabled, org_role) of each anonymous-access setting the resource makes."""
    props = args.props
    if args.resource_type == CONFIG_MAP:
        ini = mapping(props.get("data")).get("grafana.ini")
        if isinstance(ini, str):
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string(ini)
            except configparser.Error:
                return
            if parser.has_section("auth.anonymous"):
                ini_section = parser["auth.anonymous"]
                yield "grafana.ini", ini_section.get("enabled"), ini_section.get("org_role")
    elif args.resource_type in (V4_CHART, V3_RELEASE):
        values = mapping(props.get("values"))
        ini = values.get("grafana.ini") or dig(values, "grafana", "grafana.ini")
        section = mapping(mapping(ini).get("auth.anonymous"))
        if section:
            yield "the grafana.ini chart value", section.get("enabled"), section.get("org_role")
    elif props.get("kind") in POD_TEMPLATE_KINDS:
        for container in sequence(dig(props, "spec", "template", "spec", "containers")):
            env = {e.get("name"): e.get("value") for e in sequence(mapping(container).get("env"))}
            if "GF_AUTH_ANONYMOUS_ENABLED" in env:
                where = f"container {mapping(container).get('name')!r}'s environment"
                yield where, env["GF_AUTH_ANONYMOUS_ENABLED"], env.get("GF_AUTH_ANONYMOUS_ORG_ROLE")


def _validate_no_anonymous_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, enabled, role in _anonymous_settings(args):
        if _truthy(enabled) and str(role or "Viewer").strip().lower() == "admin":
            report(
                f"{where} enables Grafana's anonymous access with org_role Admin: anyone who "
                "reaches Grafana administers it; set auth.anonymous enabled = false",
                args.urn,
            )


def _validate_no_anonymous(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, enabled, role in _anonymous_settings(args):
        if _truthy(enabled):
            report(
                f"{where} enables Grafana's anonymous access (org_role {role or 'Viewer'}): "
                "dashboards show the platform's workloads and data to anyone who reaches "
                "Grafana; set auth.anonymous enabled = false and give people accounts",
                args.urn,
            )


def _sends(receiver: Any) -> bool:
    return any(sequence(mapping(receiver).get(key)) for key in SENDING)


def _validate_receivers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (V4_CHART, V3_RELEASE):
        return
    if str(args.props.get("chart", "")).rstrip("/").rsplit("/", 1)[-1] != KUBE_PROMETHEUS_STACK:
        return
    alertmanager = mapping(mapping(args.props.get("values")).get("alertmanager"))
    if alertmanager.get("enabled") is False:
        return
    receivers = sequence(dig(alertmanager, "config", "receivers"))
    if not any(_sends(receiver) for receiver in receivers):
        report(
            f"chart {args.name}: Alertmanager has no receiver that sends anywhere (the chart's "
            "default routes every alert to 'null'): set plinth:monitoring.alert_receiver "
            "(a webhook or e-mail)",
            args.urn,
        )


def _selected_namespaces(monitor: Any) -> tuple[set[str], bool]:
    """(namespaces a monitor selects, whether it selects every namespace)."""
    props = mapping(monitor.props)
    selector = mapping(dig(props, "spec", "namespaceSelector"))
    if selector.get("any") is True:
        return set(), True
    names = {str(name) for name in sequence(selector.get("matchNames"))}
    if not names:  # no namespaceSelector: the monitor's own namespace
        own = dig(props, "metadata", "namespace")
        names = {str(own)} if own else set()
    return names, False


def _validate_scraped(args: StackValidationArgs, report: ReportViolation) -> None:
    if not any(resource.resource_type == PROMETHEUS for resource in args.resources):
        return  # nothing scrapes in this stack: nothing to check
    config = args.get_config()
    platform = set(config["platformNamespaces"])
    exempt = {str(mapping(e).get("namespace")) for e in config["exemptNamespaces"]}
    scraped: set[str] = set()
    for resource in args.resources:
        if resource.resource_type in MONITOR_TYPES:
            names, every = _selected_namespaces(resource)
            if every:
                return
            scraped |= names
    for resource in args.resources:
        name = dig(resource.props, "metadata", "name")
        if resource.resource_type != NAMESPACE or not isinstance(name, str):
            continue
        if name in platform | exempt | scraped:
            continue
        report(
            f"workload namespace {name} is scraped by no ServiceMonitor or PodMonitor: add "
            "one that selects it (its namespaceSelector or its own namespace), or exempt it "
            f"in {environment_key(SCRAPED_RULE, 'exemptNamespaces')} with the reason",
            resource.urn,
        )


EXEMPT_NAMESPACES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"namespace": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["namespace", "reason"],
    },
    "default": [],
    "description": "Workload namespaces nothing needs to scrape, each with the reason.",
}

RULES: tuple[Rule, ...] = (
    resource_rule(
        ANONYMOUS_ADMIN_RULE,
        "Grafana never gives anonymous visitors the Admin role.",
        _validate_no_anonymous_admin,
        severity=Severity.CRITICAL,
        remediation=(
            "Set [auth.anonymous] enabled = false (Plinth's monitoring component does); "
            "people sign in with the administrator from secret config or their own accounts."
        ),
        # Everywhere: an anonymous Admin edits data sources, whose credentials reach the
        # cluster's metrics, in any tier.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    resource_rule(
        ANONYMOUS_RULE,
        "Grafana allows no anonymous access in prod.",
        _validate_no_anonymous,
        severity=Severity.HIGH,
        remediation=(
            "Set [auth.anonymous] enabled = false (the monitoring component's default; a "
            "plinth:monitoring.values_override may have turned it on); give people accounts."
        ),
        levels=MANDATORY_IN_PROD,
    ),
    resource_rule(
        RECEIVERS_RULE,
        "Alertmanager sends alerts to a receiver in prod.",
        _validate_receivers,
        severity=Severity.HIGH,
        remediation=(
            "Set plinth:monitoring.alert_receiver: a webhook_url (set with --secret when it "
            "carries a token) or email_to, email_from and smarthost."
        ),
        levels=MANDATORY_IN_PROD,
    ),
    stack_rule(
        SCRAPED_RULE,
        "Where Prometheus runs, every workload namespace is scraped or exempted by name.",
        _validate_scraped,
        severity=Severity.MEDIUM,
        remediation=(
            "Add a ServiceMonitor or PodMonitor whose namespaceSelector names the namespace "
            f"(the jobs namespace gets one), or list it in "
            f"{environment_key(SCRAPED_RULE, 'exemptNamespaces')} with the reason."
        ),
        levels=MANDATORY_IN_PROD,
        config={
            "platformNamespaces": PLATFORM_NAMESPACES_SCHEMA,
            "exemptNamespaces": EXEMPT_NAMESPACES_SCHEMA,
        },
    ),
)
