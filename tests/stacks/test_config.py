"""The typed environment configuration: layering, and one-line errors for bad input."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.merge import deep_merge
from components.spark_operator import COMPONENT as SPARK_OPERATOR
from stacks.config import ConfigError, PlatformConfig, load_platform_config, read_stack_config
from stacks.tiers import TIER_DEFAULTS

SOURCE = "environments/Pulumi.test.yaml"


def valid_values(**changes: Any) -> dict[str, Any]:
    """A valid set of plinth: values; keyword arguments replace top-level keys."""
    values: dict[str, Any] = {
        "tier": "dev",
        "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
        "cluster": {"target": "existing", "kubernetes_version": "1.33"},
        "node_pools": {"gpu": {"accelerator": "nvidia", "min_size": 0, "max_size": 2}},
    }
    values.update(changes)
    return values


def load(values: dict[str, Any]) -> PlatformConfig:
    return load_platform_config(values, source=SOURCE)


def error_of(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(values)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(SOURCE)
    return message


def test_valid_values_load() -> None:
    config = load(valid_values())
    assert config.tier == "dev"
    assert list(config.gpu_pools) == ["gpu"]


def test_tier_defaults_apply_under_the_stack_file() -> None:
    config = load(valid_values(tier="prod", spark_operator={"webhook_replicas": 3}))
    prod = TIER_DEFAULTS["prod"]["spark_operator"]
    assert config.args(SPARK_OPERATOR).controller_replicas == prod["controller_replicas"]
    assert config.args(SPARK_OPERATOR).webhook_replicas == 3  # the stack file wins
    assert config.args(SPARK_OPERATOR).example is False


def test_component_defaults_apply_when_no_layer_sets_a_value() -> None:
    config = load(valid_values())
    assert config.args(SPARK_OPERATOR).namespace == "spark-operator"


def test_maps_merge_recursively_and_lists_replace() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    override = {"a": {"c": [3]}, "e": 2}
    original = copy.deepcopy(base)
    assert deep_merge(base, override) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == original  # inputs are never mutated


def test_unknown_top_level_key_is_named() -> None:
    message = error_of(valid_values(spark_operater={}))
    assert "plinth:spark_operater" in message
    assert "spark_operator" in message  # the allowed keys are listed


def test_unknown_nested_key_is_named() -> None:
    message = error_of(valid_values(spark_operator={"replicas": 2}))
    assert "plinth:spark_operator.replicas" in message
    assert "unknown key" in message


def test_wrong_type_names_key_and_value() -> None:
    pools = {"gpu": {"accelerator": "nvidia", "max_size": "many"}}
    message = error_of(valid_values(node_pools=pools))
    assert "plinth:node_pools.gpu.max_size" in message
    assert '"many"' in message


def test_impossible_value_min_above_max() -> None:
    pools = {"gpu": {"accelerator": "nvidia", "min_size": 5, "max_size": 2}}
    message = error_of(valid_values(node_pools=pools))
    assert "plinth:node_pools.gpu" in message
    assert "min_size 5 is above max_size 2" in message
    assert "lower min_size or raise max_size" in message


def test_disallowed_literal_lists_the_allowed_values() -> None:
    message = error_of(valid_values(cluster={"target": "existing", "kubernetes_version": "1.12"}))
    assert "plinth:cluster.kubernetes_version" in message
    assert "'1.33'" in message


def test_missing_tier() -> None:
    values = valid_values()
    del values["tier"]
    assert "plinth:tier" in error_of(values)


def test_missing_required_key() -> None:
    values = valid_values()
    del values["ownership"]
    message = error_of(values)
    assert "plinth:ownership" in message
    assert "add this key" in message


def test_node_pool_names_must_be_dns_labels() -> None:
    message = error_of(valid_values(node_pools={"GPU_pool": {}}))
    assert "plinth:node_pools.GPU_pool" in message


def test_examples_are_refused_in_prod() -> None:
    message = error_of(valid_values(tier="prod", training_operator={"example": True}))
    assert "training_operator.example" in message
    assert "set plinth:training_operator.example to false" in message


def test_operators_need_the_jobs_namespace() -> None:
    message = error_of(valid_values(jobs={"enabled": False}))
    assert "plinth:jobs" in message
    assert "set plinth:jobs.enabled to true" in message
    off = {"enabled": False}
    config = load(valid_values(jobs=off, spark_operator=off, training_operator=off))
    assert not config.args(JOBS_NAMESPACE).enabled


def test_gpu_example_needs_gpu_quota() -> None:
    message = error_of(valid_values(jobs={"quota": {"gpus": 0}}))
    assert "plinth:jobs.quota.gpus" in message


json_scalars = st.none() | st.booleans() | st.integers(-5, 10) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
known_keys = st.sampled_from([*PlatformConfig.model_fields, "unknown"])


@settings(max_examples=300, deadline=None)
@given(
    mutations=st.lists(
        st.tuples(known_keys, st.lists(st.text(max_size=12), max_size=3), json_values),
        max_size=4,
    )
)
def test_random_configuration_never_escapes_as_a_traceback(
    mutations: list[tuple[str, list[str], Any]],
) -> None:
    values: dict[str, Any] = valid_values()
    for key, path, value in mutations:
        target = values
        for part in [key, *path][:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = {}
                target[part] = child
            target = child
        target[[key, *path][-1]] = value
    try:
        config = load(values)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(f"{SOURCE}: plinth")
        assert "\n" not in message
        for jargon in ("Value error", "Input should be", "type=", "errors.pydantic.dev"):
            assert jargon not in message
    else:
        assert isinstance(config, PlatformConfig)


def test_the_program_reads_config_as_the_pulumi_cli_passes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under `pulumi up` the language host hands config over in $PULUMI_CONFIG (JSON)."""
    passed = {
        f"plinth:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in valid_values().items()
    }
    passed["kubernetes:context"] = "ignored-by-plinth"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(passed))
    pulumi.runtime.set_all_config({})
    monkeypatch.setattr(pulumi, "get_stack", lambda: "cli-stack")
    config = read_stack_config()
    assert config == load(valid_values())
