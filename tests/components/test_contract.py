"""The component contract kept honest: the registry's order, the checks the contract makes
when a configuration loads, and every target built with and without GPU node pools."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.contract import Component
from components.registry import COMPONENTS
from plinth.environments import load_environment
from plinth.synth import program_entries
from stacks import config as stack_config
from stacks.config import ConfigError, load_platform_config, platform_namespaces
from tests.conftest import ROOT
from tests.plinth.test_cli import write_environment
from tests.stacks.test_config import valid_values

GPU = "nvidia.com/gpu"


def test_every_component_comes_after_what_it_requires_or_uses() -> None:
    seen: set[str] = set()
    for component in COMPONENTS:
        for needed in (*component.requires, *component.uses):
            assert needed.key in seen, f"{component.key} comes before {needed.key}"
        seen.add(component.key)


def test_every_component_has_its_own_key_name_and_settings_field() -> None:
    assert len({c.key for c in COMPONENTS}) == len({c.name for c in COMPONENTS}) == len(COMPONENTS)
    for component in COMPONENTS:
        assert stack_config.PlatformConfig.model_fields[component.key].annotation is component.args


def test_loading_the_configuration_imports_no_cloud_or_kubernetes_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import stacks.config"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    heavy = sorted(
        m
        for m in modules
        if m.split(".")[0] in ("pulumi_aws", "pulumi_azure_native", "pulumi_kubernetes")
    )
    assert "stacks.config" in modules
    assert heavy == []


def test_a_component_without_what_it_requires_is_refused_naming_both() -> None:
    with pytest.raises(ConfigError) as refused:
        load_platform_config(valid_values(jobs={"enabled": False}), source="test")
    message = str(refused.value)
    assert "plinth:jobs.enabled" in message
    assert "plinth:spark_operator.enabled" in message
    assert "\n" not in message


@pytest.fixture
def conflicting_operators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry with the training operator declared in conflict with Spark's."""
    spark, training = (
        next(c for c in COMPONENTS if c.key == key)
        for key in ("spark_operator", "training_operator")
    )
    registry = tuple(
        dataclasses.replace(c, conflicts=(spark,)) if c is training else c for c in COMPONENTS
    )
    monkeypatch.setattr(stack_config, "COMPONENTS", registry)


@pytest.mark.usefixtures("conflicting_operators")
def test_two_conflicting_components_are_refused_naming_both() -> None:
    with pytest.raises(ConfigError) as refused:
        load_platform_config(valid_values(), source="test")
    assert "training_operator and spark_operator are both enabled" in str(refused.value)


@pytest.mark.usefixtures("conflicting_operators")
def test_a_conflict_is_fine_when_one_side_is_off() -> None:
    values = valid_values(spark_operator={"enabled": False})
    assert load_platform_config(values, source="test").tier == "dev"


def test_a_component_set_on_a_target_it_cannot_run_on_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        load_platform_config(valid_values(object_storage={"volumes": {}}), source="test")
    assert "object_storage is set but cluster.target is 'existing'" in str(refused.value)


def test_platform_namespaces_follow_the_configuration() -> None:
    values = valid_values(spark_operator={"namespace": "spark-controllers"})
    namespaces = platform_namespaces(load_platform_config(values, source="test"))
    assert "spark-controllers" in namespaces
    assert "spark-operator" not in namespaces
    assert "ml-jobs" not in namespaces  # the jobs namespace is a workload namespace


# -- every target, with and without GPU node pools -------------------------------------


def environment_config(name: str, *, gpu_pools: bool) -> dict[str, Any]:
    """An environment file's config (dev for eks, local for existing), its GPU pools kept
    or removed."""
    document = yaml.safe_load((ROOT / "environments" / f"Pulumi.{name}.yaml").read_text())
    config: dict[str, Any] = document["config"]
    pools = config.get("plinth:node_pools", {})
    if not gpu_pools:
        config["plinth:node_pools"] = {
            key: pool for key, pool in pools.items() if pool.get("accelerator") != "nvidia"
        }
    return config


def gpu_requests(value: Any) -> Iterator[str]:
    """Where `value` (a resource's inputs) asks for a GPU: container resources naming it."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key in ("limits", "requests") and isinstance(child, Mapping) and GPU in child:
                yield key
            yield from gpu_requests(child)
    elif isinstance(value, list):
        for child in value:
            yield from gpu_requests(child)


@pytest.mark.parametrize("gpu_pools", [True, False], ids=["gpu-pools", "no-gpu-pools"])
@pytest.mark.parametrize(("target", "source"), [("existing", "local"), ("eks", "dev")])
def test_every_target_deploys_gpu_enablement_exactly_where_there_are_gpu_nodes(
    tmp_path: Path, target: str, source: str, gpu_pools: bool
) -> None:
    config = environment_config(source, gpu_pools=gpu_pools)
    assert config["plinth:cluster"]["target"] == target
    write_environment(tmp_path, "conformance", config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    entries = program_entries(tmp_path, load_environment(tmp_path, "conformance"))
    types = {entry["type"] for entry in entries}
    asking = [entry["urn"] for entry in entries if any(gpu_requests(entry["inputs"]))]
    components = {entry["type"] for entry in entries if entry["type"].startswith("plinth:")}
    assert ("plinth:gpu:GpuEnablement" in types) is gpu_pools
    assert bool(asking) is gpu_pools, asking
    # Every other enabled component deploys either way.
    assert {"plinth:ml:SparkOperator", "plinth:ml:TrainingOperator"} <= components


def test_the_registry_deploys_every_enabled_component_through_one_contract() -> None:
    deployed = load_platform_config(valid_values(), source="test").deployed_components()
    assert [c.key for c in deployed] == [
        "monitoring",
        "jobs",
        "spark_operator",
        "training_operator",
        "gpu",
        "cert_manager",
        "mesh",
        "postgres_operator",
    ]
    assert all(isinstance(c, Component) for c in deployed)


def test_a_component_requiring_one_that_does_not_apply_to_the_cluster_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpu = next(c for c in COMPONENTS if c.key == "gpu")
    registry = tuple(
        dataclasses.replace(c, requires=(*c.requires, gpu)) if c.key == "training_operator" else c
        for c in COMPONENTS
    )
    monkeypatch.setattr(stack_config, "COMPONENTS", registry)
    with pytest.raises(ConfigError) as refused:
        load_platform_config(valid_values(node_pools={}), source="test")
    assert "training_operator requires gpu, which does not deploy on this cluster" in str(
        refused.value
    )
    values = valid_values()  # with a GPU pool, GPU enablement deploys
    assert load_platform_config(values, source="test").facts.gpu_nodes
