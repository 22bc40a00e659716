"""Settings of the monitoring component (`plinth:monitoring`): pydantic only."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ChartArgs,
    ContainerResources,
    FrozenModel,
    OwnNamespace,
)

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
HOST_PORT = r"^[A-Za-z0-9.-]+:[0-9]{1,5}$"
# Prometheus stops writing before the volume is full: retention by size is this share of it
# (the TSDB's write-ahead log and compaction need head room beyond the size limit).
RETENTION_SHARE_OF_VOLUME = 0.8


class AlertReceiver(FrozenModel):
    """Where Alertmanager sends alerts: a webhook, or e-mail through an SMTP relay; neither
    set, alerts go nowhere (refused in prod by the policy pack)."""

    webhook_url: str | None = Field(
        None,
        description=(
            "URL Alertmanager POSTs alerts to (Slack/Teams relay, PagerDuty, Opsgenie "
            "bridge). It often carries a token: set it with `pulumi config set --secret`."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    email_to: str | None = Field(None, pattern=EMAIL, description="Address alerts go to.")
    email_from: str | None = Field(None, pattern=EMAIL, description="Sender of alert mail.")
    smarthost: str | None = Field(
        None, pattern=HOST_PORT, description="SMTP relay as host:port, e.g. smtp.example.com:587."
    )
    smtp_username: str | None = Field(None, description="SMTP user; unset for no SMTP auth.")
    smtp_password: str | None = Field(
        None,
        description="SMTP password (with smtp_username); set it with --secret.",
        json_schema_extra=SECRET_CAPABLE,
    )

    @model_validator(mode="after")
    def _one_complete_receiver(self) -> AlertReceiver:
        if self.webhook_url is not None and self.email_to is not None:
            raise ValueError("alert_receiver sets both webhook_url and email_to: keep one receiver")
        if self.webhook_url is None and self.email_to is None and self.smarthost is not None:
            raise ValueError(
                "alert_receiver.smarthost is set but email_to is not: set email_to, or "
                "remove the e-mail settings"
            )
        if self.email_to and not (self.email_from and self.smarthost):
            raise ValueError(
                "alert_receiver.email_to is set but email_from or smarthost is missing: "
                "set both for e-mail alerts"
            )
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "alert_receiver: smtp_username and smtp_password go together: set both "
                "for SMTP auth, or neither"
            )
        return self

    @property
    def configured(self) -> bool:
        """Whether alerts go anywhere."""
        return self.webhook_url is not None or self.email_to is not None


class MonitoringArgs(ChartArgs):
    """Settings of Prometheus, Alertmanager and Grafana (kube-prometheus-stack)."""

    namespace: OwnNamespace = Field(
        "monitoring", pattern=DNS_LABEL, description="Namespace of Prometheus and Grafana."
    )
    retention_days: int = Field(
        10, ge=1, le=3650, description="Days Prometheus keeps samples (time retention)."
    )
    storage_size_gib: int = Field(
        20,
        ge=1,
        description=(
            "Size of Prometheus' persistent volume. Retention by size is "
            f"{int(RETENTION_SHARE_OF_VOLUME * 100)}% of it, so the volume never fills."
        ),
    )
    storage_class: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description="Storage class of Prometheus' volume; unset for the cluster's default.",
    )
    prometheus_replicas: int = Field(
        1, ge=1, le=5, description="Prometheus replicas; each scrapes everything (HA pair)."
    )
    prometheus_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="200m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"
        ),
        description="Prometheus container resources; memory grows with active series.",
    )
    operator_resources: ContainerResources = Field(
        default_factory=ContainerResources,
        description="prometheus-operator container resources.",
    )
    grafana_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(memory_request="256Mi", memory_limit="1Gi"),
        description="Grafana container resources (its two sidecars get the defaults).",
    )
    exporter_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi"
        ),
        description="kube-state-metrics and node exporter (on every node) resources.",
    )
    grafana_admin_user: str = Field("admin", description="Grafana's administrator login.")
    grafana_admin_password: str | None = Field(
        None,
        description=(
            "Grafana's administrator password, set with `pulumi config set --secret --path "
            "plinth:monitoring.grafana_admin_password`: Plinth keeps it in the Secret "
            "grafana_admin_secret. Unset: Plinth creates no Secret and Grafana reads that "
            "Secret, which you create (never a generated password)."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    grafana_admin_secret: str = Field(
        "grafana-admin",
        pattern=DNS_LABEL,
        description="Secret with keys admin-user and admin-password that Grafana reads.",
    )
    alert_receiver: AlertReceiver = Field(
        default_factory=AlertReceiver,
        description=(
            "Where alerts go: webhook_url, or email_to with email_from and smarthost. "
            "Neither: Alertmanager routes every alert to a null receiver (refused in prod "
            "by the policy pack)."
        ),
    )

    @property
    def retention_size_gib(self) -> int:
        """Prometheus' retention by size, a share of its volume (at least 1 GiB)."""
        return max(1, int(self.storage_size_gib * RETENTION_SHARE_OF_VOLUME))
