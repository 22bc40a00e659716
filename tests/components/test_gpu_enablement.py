"""GPU enablement: which charts each mode installs, where their pods run, and its config."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from components import versions
from components.gpu_enablement import COMPONENT as GPU_ENABLEMENT
from components.gpu_enablement.args import GpuEnablementArgs
from components.gpu_enablement.component import CRD_FILES
from plinth.chart_values import unknown_value_paths
from plinth.check import environment_policy_config
from plinth.engine import kubernetes_objects
from plinth.upstream import upstream_file_for_url
from targets.existing.args import ExistingCluster
from tests.components.test_components import Variant, variant  # noqa: F401 (the `variant` fixture)
from tests.conftest import SynthesizedEnvironment
from tests.stacks.test_config import error_of, valid_values
from tests.upstream_schemas import (
    chart_defaults,
    chart_values_schema,
    effective_defaults,
    find_chart,
    helm_merge,
)

COMPONENT = "plinth:gpu:GpuEnablement"
CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
STANDALONE = {"nvidia-device-plugin", "dcgm-exporter"}
PINS = {
    "nvidia-device-plugin": (
        versions.NVIDIA_DEVICE_PLUGIN_CHART,
        versions.NVIDIA_DEVICE_PLUGIN_CHART_REPO,
    ),
    "dcgm-exporter": (versions.DCGM_EXPORTER_CHART, versions.DCGM_EXPORTER_CHART_REPO),
    "gpu-operator": (versions.GPU_OPERATOR_CHART, versions.GPU_OPERATOR_CHART_REPO),
}
GPU_OPERATOR = {"plinth:gpu": {"mode": "gpu-operator"}}
NO_GPU_POOL = {"plinth:node_pools": {"gpu": {"accelerator": "none"}}}


def children(entries: list[dict[str, Any]], type_token: str) -> list[dict[str, Any]]:
    """Entries of `type_token` whose parent is the GPU enablement component."""
    parents = {e["urn"] for e in entries if e["type"] == COMPONENT}
    return [e for e in entries if e["type"] == type_token and e["parent"] in parents]


def gpu_charts(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The GPU enablement's charts by chart name."""
    return {e["inputs"]["chart"]: e for e in children(entries, CHART)}


def values_of(entries: list[dict[str, Any]], chart: str) -> dict[str, Any]:
    values: dict[str, Any] = gpu_charts(entries)[chart]["inputs"]["values"]
    return values


def entry_version(env: SynthesizedEnvironment, chart: str) -> str:
    return str(gpu_charts(env.entries)[chart]["inputs"]["version"])


def expected_placement(env: SynthesizedEnvironment) -> tuple[dict[str, str], dict[str, str]]:
    """The node selector and GPU taint toleration the environment's cluster declares."""
    cluster = env.environment.platform.cluster
    assert isinstance(cluster, ExistingCluster), "local and onprem are existing clusters"
    conventions = cluster.gpu
    toleration = {
        "key": conventions.taint_key,
        "operator": "Equal",
        "value": conventions.taint_value,
        "effect": "NoSchedule",
    }
    return dict(conventions.node_selector), toleration


def selects(affinity: Mapping[str, Any], node_labels: Mapping[str, str]) -> bool:
    """Whether a node with `node_labels` meets the required node affinity (terms are ORed,
    the expressions of a term ANDed; the operators In and Exists)."""
    required = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]

    def meets(expression: Mapping[str, Any]) -> bool:
        value = node_labels.get(expression["key"])
        if expression["operator"] == "Exists":
            return value is not None
        assert expression["operator"] == "In", expression
        return value in expression["values"]

    return any(
        all(meets(expression) for expression in term.get("matchExpressions", []))
        for term in required["nodeSelectorTerms"]
    )


@pytest.mark.parametrize("name", ["local", "onprem"])
def test_gpu_environments_get_the_pinned_device_plugin_and_dcgm_exporter(
    synthesized: dict[str, SynthesizedEnvironment], name: str
) -> None:
    env = synthesized[name]
    assert env.environment.platform.gpu_pools
    assert len(env.of_type(COMPONENT)) == 1
    charts = gpu_charts(env.entries)
    assert set(charts) == STANDALONE
    for chart, entry in charts.items():
        assert (entry["inputs"]["version"], entry["inputs"]["repositoryOpts"]["repo"]) == PINS[
            chart
        ]
        assert entry["inputs"]["namespace"] == GpuEnablementArgs().namespace
    assert not children(env.entries, CONFIG_FILE)  # the operator's CRDs are not needed


@pytest.mark.parametrize("name", ["local", "onprem"])
def test_gpu_agents_run_only_on_the_gpu_nodes_the_cluster_declares(
    synthesized: dict[str, SynthesizedEnvironment], name: str, upstream: Path
) -> None:
    env = synthesized[name]
    node_selector, toleration = expected_placement(env)
    for chart, values in ((c, values_of(env.entries, c)) for c in sorted(STANDALONE)):
        assert values["nodeSelector"] == node_selector, chart
        assert values["tolerations"] == [toleration], chart
        # The chart's default affinity, as Helm merges it with Plinth's values, must let
        # the pods onto nodes that carry only the declared labels (EKS GPU nodes carry no
        # feature-discovery labels) and keep them off nodes without them.
        upstream_chart = find_chart(upstream, chart, entry_version(env, chart))
        assert upstream_chart is not None, chart
        merged = helm_merge(chart_defaults(upstream_chart), values)
        if merged.get("affinity"):
            assert selects(merged["affinity"], node_selector), chart
            assert not selects(merged["affinity"], {"kubernetes.io/os": "linux"}), chart


def test_onprem_selects_gpu_nodes_by_its_own_label(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    local, onprem = (expected_placement(synthesized[n])[0] for n in ("local", "onprem"))
    assert local != onprem
    assert values_of(synthesized["onprem"].entries, "nvidia-device-plugin")["nodeSelector"] == (
        onprem
    )


def test_the_namespace_runs_privileged_node_agents_and_is_a_platform_namespace(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    env = synthesized["local"]
    name = env.environment.platform.args(GPU_ENABLEMENT).namespace
    (namespace,) = [
        o
        for o in kubernetes_objects(env.entries)
        if o["kind"] == "Namespace" and o["metadata"]["name"] == name
    ]
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["plinth.io/environment"] == "local"
    config, _ = environment_policy_config(env.environment)
    for rule in ("namespace-pod-security", "workload-namespace-fences"):
        assert name in config[rule]["platformNamespaces"]
    for chart in gpu_charts(env.entries).values():
        assert any(d.endswith("::local-gpu-namespace") for d in chart["dependencies"])


def test_containers_get_the_configured_resources(variant: Variant) -> None:  # noqa: F811
    resources = {"cpu_request": "20m", "memory_request": "32Mi"}
    entries = variant({"plinth:gpu": {"device_plugin_resources": resources}})
    values = values_of(entries, "nvidia-device-plugin")
    assert values["resources"]["requests"] == {"cpu": "20m", "memory": "32Mi"}
    assert set(values["resources"]["limits"]) == {"cpu", "memory"}
    default = GpuEnablementArgs().dcgm_exporter_resources.to_kubernetes()
    assert values_of(entries, "dcgm-exporter")["resources"] == default


def test_service_monitor_follows_whether_monitoring_is_deployed(
    synthesized: dict[str, SynthesizedEnvironment],
    variant: Variant,  # noqa: F811
) -> None:
    for env in synthesized.values():
        if env.of_type(COMPONENT):
            assert values_of(env.entries, "dcgm-exporter")["serviceMonitor"] == {"enabled": True}
            crds = {e["urn"] for e in env.of_type(CONFIG_FILE) if "monitoring-crd" in e["name"]}
            assert crds <= set(gpu_charts(env.entries)["dcgm-exporter"]["dependencies"])
    unmonitored = {"plinth:monitoring": {"enabled": False}}
    entries = variant(unmonitored)
    assert values_of(entries, "dcgm-exporter")["serviceMonitor"] == {"enabled": False}
    operator = variant({**unmonitored, **GPU_OPERATOR})
    assert not values_of(operator, "gpu-operator")["dcgmExporter"]["serviceMonitor"]["enabled"]
    assert values_of(variant(GPU_OPERATOR), "gpu-operator")["dcgmExporter"]["serviceMonitor"][
        "enabled"
    ]


def test_gpu_operator_mode_installs_its_crds_and_operator_instead_of_the_charts(
    variant: Variant,  # noqa: F811
    upstream: Path,
) -> None:
    entries = variant(GPU_OPERATOR)
    charts = gpu_charts(entries)
    assert set(charts) == {"gpu-operator"}  # never the standalone device plugin or exporter
    assert not STANDALONE & {e["inputs"]["chart"] for e in entries if e["type"] == CHART}
    operator = charts["gpu-operator"]["inputs"]
    assert (operator["version"], operator["repositoryOpts"]["repo"]) == PINS["gpu-operator"]
    assert operator["skipCrds"] is True
    crds = children(entries, CONFIG_FILE)
    assert len(crds) == len(CRD_FILES) == 5
    for crd in crds:
        url = crd["inputs"]["file"]
        assert f"/{versions.GPU_OPERATOR_RELEASE}/" in url
        assert upstream_file_for_url(upstream, url) is not None, url
    assert {c["urn"] for c in crds} <= set(charts["gpu-operator"]["dependencies"])
    assert versions.GPU_OPERATOR_RELEASE == versions.GPU_OPERATOR_CHART


def test_gpu_operator_leaves_a_preinstalled_driver_and_toolkit_alone(
    synthesized: dict[str, SynthesizedEnvironment],
    variant: Variant,  # noqa: F811
) -> None:
    values = values_of(variant(GPU_OPERATOR), "gpu-operator")
    assert values["driver"]["enabled"] is False
    assert values["toolkit"]["enabled"] is False
    _, toleration = expected_placement(synthesized["local"])
    assert values["daemonsets"]["tolerations"] == [toleration]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [toleration]
    assert values["operator"]["upgradeCRD"] is False  # Plinth owns the CRDs
    installs = variant({"plinth:gpu": {"mode": "gpu-operator", "driver_preinstalled": False}})
    values = values_of(installs, "gpu-operator")
    assert values["driver"]["enabled"] is True
    assert values["toolkit"]["enabled"] is True


def test_gpu_operator_values_are_known_upstream(
    variant: Variant,  # noqa: F811
    upstream: Path,
) -> None:
    # No environment runs the operator yet, so test_helm_values does not see this chart.
    entry = gpu_charts(variant(GPU_OPERATOR))["gpu-operator"]
    chart = find_chart(upstream, "gpu-operator", entry["inputs"]["version"])
    assert chart is not None
    values = entry["inputs"]["values"]
    schema = chart_values_schema(chart)
    assert unknown_value_paths(values, effective_defaults(chart), schema, chart.dependencies) == []


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(NO_GPU_POOL, id="no-gpu-pool"),
        pytest.param({"plinth:gpu": {"enabled": False}}, id="disabled"),
        pytest.param({**NO_GPU_POOL, **GPU_OPERATOR}, id="no-gpu-pool-operator-mode"),
    ],
)
def test_nothing_gpu_related_without_a_gpu_pool_or_when_disabled(
    variant: Variant,  # noqa: F811
    changes: dict[str, Any],
) -> None:
    entries = variant(changes)
    assert not [e for e in entries if e["type"] == COMPONENT]
    names = {e["inputs"].get("chart") for e in entries if e["type"] == CHART}
    assert not names & {*STANDALONE, "gpu-operator"}
    namespaces = {o["metadata"]["name"] for o in kubernetes_objects(entries)}
    assert GpuEnablementArgs().namespace not in namespaces


def test_values_override_merges_into_its_own_chart_only(variant: Variant) -> None:  # noqa: F811
    override = {"dcgm-exporter": {"serviceMonitor": {"interval": "30s"}, "tolerations": []}}
    entries = variant({"plinth:gpu": {"values_override": override}})
    exporter = values_of(entries, "dcgm-exporter")
    assert exporter["serviceMonitor"] == {"enabled": True, "interval": "30s"}  # maps merge
    assert exporter["tolerations"] == []  # lists replace
    assert "interval" not in str(values_of(entries, "nvidia-device-plugin"))


@pytest.mark.parametrize(
    ("gpu", "named"),
    [
        pytest.param(
            {"values_override": {"gpu-operator": {"driver": {"enabled": True}}}},
            "values_override names chart gpu-operator but mode device-plugin installs",
            id="override-of-a-chart-the-mode-does-not-install",
        ),
        pytest.param(
            {"mode": "gpu-operator", "values_override": {"dcgm-exporter": {}}},
            "values_override names chart dcgm-exporter but mode gpu-operator installs",
            id="standalone-override-in-operator-mode",
        ),
        pytest.param(
            {"driver_preinstalled": False},
            "driver_preinstalled is false but mode is device-plugin",
            id="driver-install-without-the-operator",
        ),
        pytest.param({"mode": "operator"}, "plinth:gpu.mode", id="unknown-mode"),
        pytest.param(
            {"values_override": {"nvidia-gpu-operator": {}}},
            "plinth:gpu.values_override",
            id="unknown-chart",
        ),
    ],
)
def test_settings_that_do_not_fit_the_mode_are_refused(gpu: dict[str, Any], named: str) -> None:
    message = error_of(valid_values(gpu=gpu))
    assert named in message
    assert "plinth:gpu" in message


def test_gpu_operator_mode_with_its_own_override_loads() -> None:
    gpu = {"mode": "gpu-operator", "values_override": {"gpu-operator": {"mig": {}}}}
    config = GpuEnablementArgs.model_validate(gpu)
    assert config.values_override == {"gpu-operator": {"mig": {}}}


def test_merged_operator_values_keep_upstream_defaults_we_do_not_set(
    variant: Variant,  # noqa: F811
    upstream: Path,
) -> None:
    entry = gpu_charts(variant(GPU_OPERATOR))["gpu-operator"]
    chart = find_chart(upstream, "gpu-operator", entry["inputs"]["version"])
    assert chart is not None
    merged = helm_merge(chart_defaults(chart), entry["inputs"]["values"])
    assert merged["devicePlugin"]["enabled"] is True
    assert merged["dcgmExporter"]["enabled"] is True
    assert merged["nfd"]["enabled"] is True  # how the operator finds GPU nodes
