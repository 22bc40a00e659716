"""Names the monitoring component gives its objects: fixed, so that the mesh's routes, the
README's port-forward commands, the policy exemptions and the tests can name them."""

from __future__ import annotations

# kube-prometheus-stack's fullnameOverride: its objects are named monitoring-<part>.
STACK = "monitoring"
PROMETHEUS = f"{STACK}-prometheus"
PROMETHEUS_PORT = 9090
ALERTMANAGER = f"{STACK}-alertmanager"
ALERTMANAGER_PORT = 9093
GRAFANA = "grafana"
GRAFANA_PORT = 80
KUBE_STATE_METRICS = "kube-state-metrics"
NODE_EXPORTER = "node-exporter"
# The label Grafana's dashboard sidecar watches ConfigMaps for.
DASHBOARD_LABEL = "grafana_dashboard"
# The Secret with the alert receiver's secret parts; Alertmanager mounts each Secret the
# Alertmanager object lists under this directory (prometheus-operator's convention).
RECEIVER_SECRET = "alertmanager-receiver"  # noqa: S105 (a name, not a value)
ALERTMANAGER_SECRET_DIR = "/etc/alertmanager/secrets"  # noqa: S105 (a path)
WEBHOOK_URL_KEY = "webhook-url"
SMTP_PASSWORD_KEY = "smtp-password"  # noqa: S105 (a key name)
