"""Where every metric Plinth's dashboards and alert rules read comes from.

One row per metric name as queried: the exporter or component that exposes it, at the
version Plinth pins, and the file (or published reference) that defines it. A test checks
that every metric in every dashboard and rule is here, and that the component README shows
this table.
"""

from __future__ import annotations

from dataclasses import dataclass

DCGM = (
    "dcgm-exporter 4.5.3-4.8.2",
    "chart `dcgm-exporter` 4.8.2, templates/metrics-configmap.yaml (the counters the exporter "
    "loads by default; profiling counters need its SYS_ADMIN capability)",
)
SPARK = (
    "spark-operator v2.5.2",
    "kubeflow/spark-operator v2.5.2, pkg/common/metrics.go (names), "
    "internal/metrics/sparkapplication_metrics.go and sparkpod_metrics.go",
)
TRAINING = ("training-operator v1.9.4", "kubeflow/trainer v1.9.4, pkg/common/metrics.go")
KSM = (
    "kube-state-metrics 2.20.0 (chart 8.4.0)",
    "kubernetes/kube-state-metrics v2.20.0, docs/metrics/workload/pod-metrics.md and "
    "deployment-metrics.md",
)
KUBELET = (
    "kubelet (Kubernetes 1.31+)",
    "kubernetes/kubernetes pkg/kubelet/metrics/collectors/volume_stats.go; scraped by "
    "kube-prometheus-stack's kubelet ServiceMonitor",
)
AUTOSCALER = (
    "cluster-autoscaler 1.31-1.35 (components/versions.py)",
    "kubernetes/autoscaler cluster-autoscaler/metrics/metrics.go; per node group with "
    "--emit-per-nodegroup-metrics=true (the eks target sets it)",
)
CERT_MANAGER = ("cert-manager v1.21.1", "cert-manager/cert-manager v1.21.1, pkg/metrics/")
ISTIO = (
    "Istio 1.30.3 (Envoy sidecars and gateways)",
    "https://istio.io/v1.30/docs/reference/config/metrics/ (standard metrics, labels "
    "destination_canonical_service and destination_canonical_revision)",
)


@dataclass(frozen=True)
class MetricSource:
    """One metric and where it comes from."""

    metric: str
    component: str
    source: str


def _rows(origin: tuple[str, str], *metrics: str) -> list[MetricSource]:
    return [MetricSource(metric, *origin) for metric in metrics]


METRIC_SOURCES: tuple[MetricSource, ...] = (
    *_rows(
        DCGM,
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    ),
    *_rows(
        SPARK,
        "spark_application_failed_submission_count",
        "spark_application_failure_count",
        "spark_application_running_count",
        "spark_application_start_latency_seconds_histogram_bucket",
        "spark_application_submit_count",
        "spark_application_success_count",
        "spark_executor_failure_count",
        "spark_executor_running_count",
    ),
    *_rows(
        TRAINING,
        "training_operator_jobs_created_total",
        "training_operator_jobs_failed_total",
        "training_operator_jobs_restarted_total",
        "training_operator_jobs_successful_total",
    ),
    *_rows(
        KSM,
        "kube_deployment_spec_replicas",
        "kube_deployment_status_replicas_available",
        "kube_deployment_status_replicas_unavailable",
        "kube_pod_container_resource_requests",
        "kube_pod_info",
        "kube_pod_status_phase",
        "kube_pod_status_unschedulable",
    ),
    *_rows(KUBELET, "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes"),
    *_rows(
        AUTOSCALER,
        "cluster_autoscaler_node_group_max_count",
        "cluster_autoscaler_node_group_target_count",
    ),
    *_rows(CERT_MANAGER, "certmanager_certificate_expiration_timestamp_seconds"),
    *_rows(ISTIO, "istio_request_duration_milliseconds_bucket", "istio_requests_total"),
)


def markdown_table() -> str:
    """The table as the component README shows it."""
    lines = ["| metric | exposed by | defined in |", "| --- | --- | --- |"]
    lines += [f"| `{row.metric}` | {row.component} | {row.source} |" for row in METRIC_SOURCES]
    return "\n".join(lines)
