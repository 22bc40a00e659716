"""Plinth's alert rules, as the groups of one PrometheusRule object.

Each rule has a `promtool test rules` unit test (tests/components/monitoring/rule_tests/),
run against the groups Plinth renders; every metric an expression reads is in the metric
source table (components/monitoring/metric_sources.py). No function here imports a
Pulumi SDK: the tests and the policy pack read the rules too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from components.monitoring.names import PROMETHEUS

if TYPE_CHECKING:
    from components.cluster import ScrapeTarget

# The Deployments of the platform's own controllers, by the fixed names Plinth gives them
# (fullnameOverride or the objects it writes). A test checks that every Deployment in a
# platform namespace of every environment is listed, so a new controller cannot be missed.
PLATFORM_CONTROLLERS = (
    "cert-manager",
    "cert-manager-cainjector",
    "cert-manager-webhook",
    "cluster-autoscaler",
    # CloudNativePG's operator (components/postgres_operator/).
    "cnpg",
    "grafana",
    "istio-ingressgateway",
    "istiod",
    "kube-state-metrics",
    "mlflow",
    "monitoring-operator",
    "spark-operator-controller",
    "spark-operator-webhook",
    "training-operator",
)
# The claims of Prometheus' StatefulSet: <volume>-<pod>, the volume named prometheus-<name>-db.
PROMETHEUS_CLAIMS = f"prometheus-{PROMETHEUS}-db-.*"
CLUSTER_AUTOSCALER = "cluster-autoscaler"
DAY_S = 86400


def _alert(  # noqa: PLR0917 (a rule's six fields, in the order a rule file lists them)
    name: str, expr: str, duration: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    """An alerting rule; its summary may name labels, its description is plain text."""
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def gpu_rules() -> list[dict[str, Any]]:
    """XID errors and GPU memory (DCGM exporter)."""
    return [
        _alert(
            "GpuXidError",
            "max by (Hostname, gpu, UUID) (DCGM_FI_DEV_XID_ERRORS) > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
            "An XID is a driver-reported GPU error (memory, bus or firmware fault); drain "
            "the node and check `nvidia-smi -q` and the kernel log.",
        ),
        _alert(
            "GpuMemoryNearlyFull",
            "max by (Hostname, gpu, namespace, pod) (DCGM_FI_DEV_FB_USED"
            " / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)) > 0.95",
            "10m",
            "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} (pod {{ $labels.namespace }}/"
            "{{ $labels.pod }}) memory over 95% for 10 minutes",
            "The pod's next GPU allocation may fail with CUDA out of memory.",
        ),
    ]


def capacity_rules(scrape_targets: Sequence[ScrapeTarget]) -> list[dict[str, Any]]:
    """Node pools at their maximum: cluster-autoscaler's own gauges where the target runs
    it (EKS), and pods no node can take (kube-state-metrics) everywhere."""
    rules = [
        _alert(
            "PodsUnschedulable",
            "sum by (namespace) (kube_pod_status_unschedulable) > 0",
            "15m",
            "warning",
            "{{ $value }} pods in {{ $labels.namespace }} unschedulable for 15 minutes",
            "No node has room for them: a node pool is at its maximum size, or no pool "
            "offers what they request (GPUs, memory, a node selector).",
        )
    ]
    if any(target.name == CLUSTER_AUTOSCALER for target in scrape_targets):
        rules.append(
            _alert(
                "NodePoolAtMax",
                "max by (node_group) (cluster_autoscaler_node_group_target_count)"
                " >= max by (node_group) (cluster_autoscaler_node_group_max_count)",
                "15m",
                "warning",
                "Node group {{ $labels.node_group }} at its maximum size for 15 minutes",
                "cluster-autoscaler cannot add nodes to it: raise the pool's max_size.",
            )
        )
    return rules


def job_rules() -> list[dict[str, Any]]:
    """Spark applications and training jobs that fail (the operators' own counters)."""
    return [
        _alert(
            "SparkApplicationsFailing",
            "sum (increase(spark_application_failure_count[30m])) > 0",
            "0m",
            "warning",
            "Spark applications failed in the last 30 minutes",
            "See `kubectl get sparkapplications -A` and the driver logs.",
        ),
        _alert(
            "TrainingJobsFailing",
            "sum by (job_namespace, framework) "
            "(increase(training_operator_jobs_failed_total[30m])) > 0",
            "0m",
            "warning",
            "{{ $labels.framework }} jobs failed in {{ $labels.job_namespace }} in the last "
            "30 minutes",
            "See the job's conditions (`kubectl describe`) and its pods' logs.",
        ),
    ]


def platform_rules() -> list[dict[str, Any]]:
    """Prometheus' volume, certificates, and the platform's own controllers."""
    claims = f'persistentvolumeclaim=~"{PROMETHEUS_CLAIMS}"'
    controllers = "|".join(PLATFORM_CONTROLLERS)
    return [
        _alert(
            "PrometheusStorageNearlyFull",
            f"kubelet_volume_stats_available_bytes{{{claims}}}"
            f" / kubelet_volume_stats_capacity_bytes{{{claims}}} < 0.1",
            "15m",
            "warning",
            "Prometheus volume {{ $labels.persistentvolumeclaim }} under 10% free",
            "Retention by size should keep it below 80%: raise storage_size_gib or lower "
            "retention_days in plinth:monitoring.",
        ),
        _alert(
            "CertificateExpiringSoon",
            f"certmanager_certificate_expiration_timestamp_seconds - time() < 14 * {DAY_S}",
            "1h",
            "warning",
            "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires within 14 days",
            "cert-manager renews 30 days ahead by default: renewal is failing; see "
            "`kubectl describe certificate`.",
        ),
        _alert(
            "PlatformControllerDown",
            f'kube_deployment_status_replicas_available{{deployment=~"{controllers}"}} == 0'
            f' and kube_deployment_spec_replicas{{deployment=~"{controllers}"}} > 0',
            "5m",
            "critical",
            "Platform controller {{ $labels.namespace }}/{{ $labels.deployment }} has no "
            "available replica",
            "What it reconciles (jobs, certificates, routes, metrics) is not acted on.",
        ),
        _alert(
            "PlatformControllerDegraded",
            f'kube_deployment_status_replicas_unavailable{{deployment=~"{controllers}"}} > 0',
            "15m",
            "warning",
            "Platform controller {{ $labels.namespace }}/{{ $labels.deployment }} has "
            "unavailable replicas",
            "It runs with fewer replicas than asked for 15 minutes.",
        ),
    ]


def rule_groups(scrape_targets: Sequence[ScrapeTarget]) -> list[dict[str, Any]]:
    """The rule groups of Plinth's PrometheusRule object."""
    return [
        {"name": "plinth-gpu", "rules": gpu_rules()},
        {"name": "plinth-capacity", "rules": capacity_rules(scrape_targets)},
        {"name": "plinth-jobs", "rules": job_rules()},
        {"name": "plinth-platform", "rules": platform_rules()},
    ]
