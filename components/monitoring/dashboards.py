"""Plinth's Grafana dashboards, as code: GPU, Spark, training jobs and model serving.

Each dashboard becomes a ConfigMap that Grafana's dashboard sidecar loads. Every metric a
query reads must be in the metric source table (`metric_sources.py`), where it names the
exporter or component, its pinned version and the file that defines it; a test checks it,
and that each dashboard is valid Grafana dashboard JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# kube-prometheus-stack's Prometheus datasource (grafana.sidecar.datasources.uid).
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
# Grafana 12's dashboard JSON model version (the one it writes on export).
SCHEMA_VERSION = 41
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
GRID_COLUMNS = 24
TRAINING_KINDS = "JAXJob|MPIJob|PaddleJob|PyTorchJob|TFJob|XGBoostJob"
RUNNING = 'kube_pod_status_phase{phase="Running"} == 1'
GPU_REQUESTS = 'kube_pod_container_resource_requests{resource="nvidia_com_gpu"}'


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and the legend of its series."""

    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    """A time series (or stat) panel."""

    title: str
    unit: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: panels laid out two per row."""

    uid: str
    title: str
    tags: tuple[str, ...]
    panels: tuple[Panel, ...]

    def to_json(self) -> dict[str, Any]:
        """The dashboard in Grafana's JSON model."""
        panels = []
        per_row = GRID_COLUMNS // PANEL_WIDTH
        for index, panel in enumerate(self.panels):
            panels.append(
                {
                    "id": index + 1,
                    "type": panel.kind,
                    "title": panel.title,
                    "datasource": DATASOURCE,
                    "gridPos": {
                        "h": PANEL_HEIGHT,
                        "w": PANEL_WIDTH,
                        "x": (index % per_row) * PANEL_WIDTH,
                        "y": (index // per_row) * PANEL_HEIGHT,
                    },
                    "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                    "options": {},
                    "targets": [
                        {
                            "refId": chr(ord("A") + number),
                            "datasource": DATASOURCE,
                            "expr": query.expr,
                            "legendFormat": query.legend,
                        }
                        for number, query in enumerate(panel.queries)
                    ],
                }
            )
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": ["plinth", *self.tags],
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": False,
            "timezone": "utc",
            "time": {"from": "now-6h", "to": "now"},
            "refresh": "1m",
            "templating": {"list": []},
            "annotations": {"list": []},
            "panels": panels,
        }


def _panel(title: str, unit: str, *queries: tuple[str, str], kind: str = "timeseries") -> Panel:
    return Panel(title, unit, tuple(Query(expr, legend) for expr, legend in queries), kind)


GPU = Dashboard(
    uid="plinth-gpu",
    title="Plinth / GPUs",
    tags=("gpu", "dcgm"),
    panels=(
        _panel(
            "Graphics engine active, per GPU",
            "percentunit",
            ("avg by (Hostname, gpu) (DCGM_FI_PROF_GR_ENGINE_ACTIVE)", "{{Hostname}} GPU {{gpu}}"),
        ),
        _panel(
            "Graphics engine active, per pod",
            "percentunit",
            (
                'avg by (namespace, pod) (DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod!=""})',
                "{{namespace}}/{{pod}}",
            ),
        ),
        _panel(
            "Memory used, per GPU",
            "decmbytes",
            ("max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED)", "{{Hostname}} GPU {{gpu}} used"),
            ("max by (Hostname, gpu) (DCGM_FI_DEV_FB_FREE)", "{{Hostname}} GPU {{gpu}} free"),
        ),
        _panel(
            "Memory used, per pod",
            "decmbytes",
            ('sum by (namespace, pod) (DCGM_FI_DEV_FB_USED{pod!=""})', "{{namespace}}/{{pod}}"),
        ),
        _panel(
            "Temperature",
            "celsius",
            ("max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)", "{{Hostname}} GPU {{gpu}}"),
        ),
        _panel(
            "Power draw",
            "watt",
            ("sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "{{Hostname}}"),
        ),
        _panel(
            "Last XID error (0: none)",
            "none",
            ("max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS)", "{{Hostname}} GPU {{gpu}}"),
        ),
        _panel(
            "GPU utilisation (NVML), per node",
            "percent",
            ("avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)", "{{Hostname}}"),
        ),
    ),
)

SPARK = Dashboard(
    uid="plinth-spark",
    title="Plinth / Spark",
    tags=("spark",),
    panels=(
        _panel(
            "Applications running",
            "none",
            ("sum (spark_application_running_count)", "running"),
            kind="stat",
        ),
        _panel(
            "Applications finished per hour",
            "none",
            ("sum (increase(spark_application_success_count[1h]))", "succeeded"),
            ("sum (increase(spark_application_failure_count[1h]))", "failed"),
        ),
        _panel(
            "Submissions per hour",
            "none",
            ("sum (increase(spark_application_submit_count[1h]))", "submitted"),
            ("sum (increase(spark_application_failed_submission_count[1h]))", "failed to submit"),
        ),
        _panel(
            "Start latency (p50, p95)",
            "s",
            (
                "histogram_quantile(0.5, sum by (le) "
                "(rate(spark_application_start_latency_seconds_histogram_bucket[15m])))",
                "p50",
            ),
            (
                "histogram_quantile(0.95, sum by (le) "
                "(rate(spark_application_start_latency_seconds_histogram_bucket[15m])))",
                "p95",
            ),
        ),
        _panel(
            "Executors",
            "none",
            ("sum (spark_executor_running_count)", "running"),
            ("sum (increase(spark_executor_failure_count[1h]))", "failed in the last hour"),
        ),
    ),
)

TRAINING = Dashboard(
    uid="plinth-training",
    title="Plinth / Training jobs",
    tags=("training", "kubeflow"),
    panels=(
        _panel(
            "Jobs running, per namespace",
            "none",
            (
                "count by (namespace) (count by (namespace, created_by_name) ("
                f'kube_pod_info{{created_by_kind=~"{TRAINING_KINDS}"}}'
                f" * on (namespace, pod) group_left () ({RUNNING})))",
                "{{namespace}}",
            ),
        ),
        _panel(
            "Jobs failed per hour, per namespace",
            "none",
            (
                "sum by (job_namespace, framework) "
                "(increase(training_operator_jobs_failed_total[1h]))",
                "{{job_namespace}} {{framework}}",
            ),
        ),
        _panel(
            "Jobs created and succeeded per hour",
            "none",
            ("sum by (framework) (increase(training_operator_jobs_created_total[1h]))", "created"),
            (
                "sum by (framework) (increase(training_operator_jobs_successful_total[1h]))",
                "succeeded {{framework}}",
            ),
        ),
        _panel(
            "GPU hours in the range, per namespace",
            "h",
            (
                f"sum by (namespace) (sum_over_time((sum by (namespace, pod) ({GPU_REQUESTS})"
                f" * on (namespace, pod) group_left () ({RUNNING}))[$__range:5m])) / 12",
                "{{namespace}}",
            ),
            kind="stat",
        ),
        _panel(
            "GPUs in use, per namespace",
            "none",
            (
                f"sum by (namespace) ({GPU_REQUESTS} * on (namespace, pod) group_left () "
                f"({RUNNING}))",
                "{{namespace}}",
            ),
        ),
        _panel(
            "Job restarts per hour",
            "none",
            (
                "sum by (job_namespace, framework) "
                "(increase(training_operator_jobs_restarted_total[1h]))",
                "{{job_namespace}} {{framework}}",
            ),
        ),
    ),
)

# Istio's standard metrics: a model is the destination's canonical service, a variant its
# canonical revision (the `service.istio.io/canonical-revision` label, else `version`).
BY_VARIANT = (
    "destination_workload_namespace, destination_canonical_service, destination_canonical_revision"
)
VARIANT_LEGEND = "{{destination_canonical_service}} {{destination_canonical_revision}}"
SERVING = Dashboard(
    uid="plinth-serving",
    title="Plinth / Model serving",
    tags=("serving", "istio"),
    panels=(
        _panel(
            "Requests per second, per model and variant",
            "reqps",
            (
                f'sum by ({BY_VARIANT}) (rate(istio_requests_total{{reporter="destination"}}[5m]))',
                VARIANT_LEGEND,
            ),
        ),
        _panel(
            "Error ratio (5xx), per model and variant",
            "percentunit",
            (
                f"sum by ({BY_VARIANT}) (rate(istio_requests_total"
                f'{{reporter="destination", response_code=~"5.."}}[5m]))'
                f" / sum by ({BY_VARIANT}) "
                f'(rate(istio_requests_total{{reporter="destination"}}[5m]))',
                VARIANT_LEGEND,
            ),
        ),
        *(
            _panel(
                f"Latency p{quantile}, per model and variant",
                "ms",
                (
                    f"histogram_quantile(0.{quantile}, sum by (le, {BY_VARIANT}) "
                    "(rate(istio_request_duration_milliseconds_bucket"
                    '{reporter="destination"}[5m])))',
                    VARIANT_LEGEND,
                ),
            )
            for quantile in (50, 95, 99)
        ),
    ),
)

DASHBOARDS = (GPU, SPARK, TRAINING, SERVING)
