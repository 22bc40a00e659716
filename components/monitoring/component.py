"""Monitoring: Prometheus, Alertmanager and Grafana from kube-prometheus-stack.

Installs the ten prometheus-operator CRDs from the pinned chart release as their own stage,
then the `kube-prometheus-stack` chart (with its kube-state-metrics, node exporter and
Grafana dependencies) with CRDs skipped. Prometheus selects every ServiceMonitor,
PodMonitor, Probe, ScrapeConfig and PrometheusRule in every namespace, keeps samples for
`retention_days` or until 80% of its persistent volume, and in prod keeps that volume when
the Prometheus object or a replica goes away. Alertmanager sends every alert to the
configured receiver; its secret parts (a webhook URL with a token, an SMTP password) live in
a Secret Plinth creates from secret config and Alertmanager reads as files. Grafana reads
its administrator from a Secret (never a generated password), allows no anonymous access,
and loads Plinth's dashboards from ConfigMaps (`components/monitoring/dashboards.py`).
Plinth's alert rules are PrometheusRule objects (`components/monitoring/rules.py`), and
each scrape target the cluster's target declares (the EKS cluster-autoscaler) gets a
PodMonitor.

Inputs: `MonitoringArgs` and the `Cluster`.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.args import ContainerResources
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster, ScrapeTarget
from components.exposed import ExposedService
from components.monitoring.args import MonitoringArgs
from components.monitoring.dashboards import DASHBOARDS
from components.monitoring.names import (
    ALERTMANAGER_SECRET_DIR,
    DASHBOARD_LABEL,
    GRAFANA,
    GRAFANA_PORT,
    KUBE_STATE_METRICS,
    NODE_EXPORTER,
    PROMETHEUS,
    PROMETHEUS_PORT,
    RECEIVER_SECRET,
    SMTP_PASSWORD_KEY,
    STACK,
    WEBHOOK_URL_KEY,
)
from components.monitoring.rules import rule_groups
from components.pod_security import RESTRICTED_CONTAINER
from components.secrets import keep_secret

CRD_FILES = tuple(
    f"crd-{kind}.yaml"
    for kind in (
        "alertmanagerconfigs",
        "alertmanagers",
        "podmonitors",
        "probes",
        "prometheusagents",
        "prometheuses",
        "prometheusrules",
        "scrapeconfigs",
        "servicemonitors",
        "thanosrulers",
    )
)
MONITORING_API = "monitoring.coreos.com/v1"
# The label Pulumi's Chart (and Helm) honour to leave an object in place on delete.
KEEP = {"helm.sh/resource-policy": "keep"}


class Monitoring(ChartComponent):
    """kube-prometheus-stack with Plinth's dashboards, alert rules and scrape targets."""

    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        *,
        cluster: Cluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Node exporter reads the host (its network, PID namespace and /proc, /sys, /): the
        # namespace is privileged and that one DaemonSet is exempt (policy_exemptions).
        super().__init__(
            "plinth:monitoring:Monitoring",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="privileged",
            crds=CrdRelease(versions.KUBE_PROMETHEUS_STACK_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        self.grafana = ExposedService(args.namespace, GRAFANA, GRAFANA_PORT)
        self.prometheus = ExposedService(args.namespace, PROMETHEUS, PROMETHEUS_PORT)
        secrets = self._secrets(name, args, cluster)
        [self.chart] = self.install_charts(
            [
                ChartRelease(
                    name,
                    "kube-prometheus-stack",
                    versions.KUBE_PROMETHEUS_STACK_CHART,
                    versions.KUBE_PROMETHEUS_STACK_CHART_REPO,
                    chart_values(args, cluster),
                )
            ],
            depends_on=secrets,
        )
        self._dashboards(name, args, cluster)
        self._custom_resources(name, args, cluster)
        self.register_outputs(
            {"namespace": args.namespace, "grafana": GRAFANA, "prometheus": PROMETHEUS}
        )

    def _secrets(self, name: str, args: MonitoringArgs, cluster: Cluster) -> list[pulumi.Resource]:
        """Grafana's administrator and the receiver's secret parts, from secret config."""
        child = cluster.resource_options(self)
        created: list[pulumi.Resource] = []
        if args.grafana_admin_password is not None:
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-grafana-admin",
                    metadata=cluster.metadata(args.grafana_admin_secret, args.namespace),
                    string_data={
                        "admin-user": args.grafana_admin_user,
                        "admin-password": keep_secret(args.grafana_admin_password, args),
                    },
                    opts=child,
                )
            )
        receiver_files = receiver_secret_data(args)
        if receiver_files:
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-alert-receiver",
                    metadata=cluster.metadata(RECEIVER_SECRET, args.namespace),
                    string_data={
                        key: keep_secret(value, args) for key, value in receiver_files.items()
                    },
                    opts=child,
                )
            )
        return created

    def _dashboards(self, name: str, args: MonitoringArgs, cluster: Cluster) -> None:
        """One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar."""
        for dashboard in DASHBOARDS:
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dashboard.uid}",
                metadata=cluster.metadata(
                    f"dashboard-{dashboard.uid}", args.namespace, **{DASHBOARD_LABEL: "1"}
                ),
                data={f"{dashboard.uid}.json": json.dumps(dashboard.to_json(), sort_keys=True)},
                opts=cluster.resource_options(self),
            )

    def _custom_resources(self, name: str, args: MonitoringArgs, cluster: Cluster) -> None:
        """Plinth's alert rules, and a PodMonitor per scrape target of the cluster."""
        after_crds = pulumi.ResourceOptions.merge(
            cluster.resource_options(self), pulumi.ResourceOptions(depends_on=self.crds)
        )
        k8s.apiextensions.CustomResource(
            f"{name}-platform-rules",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            metadata=cluster.metadata("plinth-platform", args.namespace),
            spec={"groups": rule_groups(cluster.scrape_targets)},
            opts=after_crds,
        )
        for target in cluster.scrape_targets:
            k8s.apiextensions.CustomResource(
                f"{name}-scrape-{target.name}",
                api_version=MONITORING_API,
                kind="PodMonitor",
                metadata=cluster.metadata(target.name, args.namespace),
                spec=pod_monitor_spec(target),
                opts=after_crds,
            )


def pod_monitor_spec(target: ScrapeTarget) -> dict[str, Any]:
    """A PodMonitor spec scraping `target`'s pods in their own namespace."""
    return {
        "jobLabel": "app.kubernetes.io/name",
        "namespaceSelector": {"matchNames": [target.namespace]},
        "selector": {"matchLabels": dict(sorted(target.pod_labels.items()))},
        "podMetricsEndpoints": [{"port": target.port, "path": target.path}],
    }


def receiver_secret_data(args: MonitoringArgs) -> dict[str, str]:
    """File name -> content of the receiver's secret parts (empty without any)."""
    receiver = args.alert_receiver
    files = {WEBHOOK_URL_KEY: receiver.webhook_url, SMTP_PASSWORD_KEY: receiver.smtp_password}
    return {key: value for key, value in sorted(files.items()) if value is not None}


def alertmanager_config(args: MonitoringArgs) -> dict[str, Any]:
    """Alertmanager's configuration: every alert to the receiver, secrets read from files.

    The chart's own inhibit rules and its routing of the always-firing Watchdog to nowhere
    are kept; the rest routes to `platform` (or to `null` without a receiver).
    """
    receiver = args.alert_receiver
    secret_dir = f"{ALERTMANAGER_SECRET_DIR}/{RECEIVER_SECRET}"
    platform: dict[str, Any] = {"name": "platform"}
    if receiver.webhook_url is not None:
        platform["webhook_configs"] = [
            {"url_file": f"{secret_dir}/{WEBHOOK_URL_KEY}", "send_resolved": True}
        ]
    elif receiver.configured:
        email: dict[str, Any] = {
            "to": receiver.email_to,
            "from": receiver.email_from,
            "smarthost": receiver.smarthost,
            "send_resolved": True,
        }
        if receiver.smtp_username is not None:
            email["auth_username"] = receiver.smtp_username
            email["auth_password_file"] = f"{secret_dir}/{SMTP_PASSWORD_KEY}"
        platform["email_configs"] = [email]
    default = "platform" if receiver.configured else "null"
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "receiver": default,
            "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
        },
        "receivers": [{"name": "null"}, *([platform] if receiver.configured else [])],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def _prometheus_spec(args: MonitoringArgs, cluster: Cluster) -> dict[str, Any]:
    """Retention, storage and selection of the Prometheus object."""
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{args.storage_size_gib}Gi"}},
    }
    if args.storage_class is not None:
        claim["storageClassName"] = args.storage_class
    # In prod the volume outlives the StatefulSet: deleting the Prometheus object, or
    # scaling it down, leaves the claim (and the samples) for an administrator.
    kept = "Retain" if cluster.protect_stateful else "Delete"
    selects_all = {
        f"{kind}SelectorNilUsesHelmValues": False
        for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
    }
    return {
        **selects_all,
        "replicas": args.prometheus_replicas,
        "retention": f"{args.retention_days}d",
        "retentionSize": f"{args.retention_size_gib}GiB",
        "resources": args.prometheus_resources.to_kubernetes(),
        "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": kept, "whenScaled": "Retain"},
        "podMetadata": {"labels": dict(sorted(cluster.labels.items()))},
    }


def _grafana_values(args: MonitoringArgs) -> dict[str, Any]:
    return {
        "fullnameOverride": GRAFANA,
        "admin": {
            "existingSecret": args.grafana_admin_secret,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        "grafana.ini": {
            "auth.anonymous": {"enabled": False},
            "users": {"allow_sign_up": False},
        },
        "resources": args.grafana_resources.to_kubernetes(),
        "sidecar": {
            "resources": ContainerResources().to_kubernetes(),
            "dashboards": {
                "enabled": True,
                "label": DASHBOARD_LABEL,
                "labelValue": "1",
                "searchNamespace": args.namespace,
            },
        },
        "testFramework": {"enabled": False},
        # The sidecars read dashboards and data sources in Grafana's own namespace only: a
        # Role there, not a ClusterRole that reads every Secret of the cluster.
        "rbac": {"namespaced": True},
    }


def chart_values(args: MonitoringArgs, cluster: Cluster) -> dict[str, Any]:
    """The chart values Plinth renders from the typed options, with `values_override` on top."""
    labels = dict(sorted(cluster.labels.items()))
    receiver_secrets = [RECEIVER_SECRET] if receiver_secret_data(args) else []
    prometheus: dict[str, Any] = {"prometheusSpec": _prometheus_spec(args, cluster)}
    if cluster.protect_stateful:
        prometheus["annotations"] = KEEP
    rendered: dict[str, Any] = {
        # Object names that do not depend on the release: monitoring-prometheus, grafana, ...
        "fullnameOverride": STACK,
        "commonLabels": labels,
        # Plinth installs the CRDs itself (CRD_FILES), as their own stage.
        "crds": {"enabled": False},
        "windowsMonitoring": {"enabled": False},
        "prometheusOperator": {
            # Its admission webhook's certificate comes from Helm hook Jobs, which Pulumi's
            # Chart never runs; promtool checks Plinth's rules in CI instead.
            "admissionWebhooks": {"enabled": False, "patch": {"enabled": False}},
            "tls": {"enabled": False},
            "resources": args.operator_resources.to_kubernetes(),
        },
        "prometheus": prometheus,
        "alertmanager": {
            "config": alertmanager_config(args),
            "alertmanagerSpec": {
                "secrets": receiver_secrets,
                "podMetadata": {"labels": labels},
            },
        },
        "grafana": _grafana_values(args),
        "kube-state-metrics": {
            "fullnameOverride": KUBE_STATE_METRICS,
            "resources": args.exporter_resources.to_kubernetes(),
        },
        "prometheus-node-exporter": {
            "fullnameOverride": NODE_EXPORTER,
            "resources": args.exporter_resources.to_kubernetes(),
            # The host namespaces and mounts it needs are exempt (policy_exemptions); the
            # rest of the restricted profile holds.
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "runAsGroup": 65534,
                "fsGroup": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containerSecurityContext": RESTRICTED_CONTAINER,
        },
    }
    return release_values(rendered, args.values_override, args)
