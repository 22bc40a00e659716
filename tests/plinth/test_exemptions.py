"""What an environment's components add to its policy config (plinth/exemptions.py): the
namespaces their controllers run in join the namespace rules' `platformNamespaces`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plinth.check import environment_policy_config
from plinth.environments import load_environment
from plinth.exemptions import with_platform_namespaces
from plinth.policy_config import PolicyConfigError
from stacks.config import platform_namespaces
from tests.plinth.test_cli import local_config, write_environment
from tests.policies.kubernetes.test_namespaces import FENCES, POD_SECURITY, namespace
from tests.policy_harness import hits
from tests.stacks.test_config import load, valid_values

OFF = {"enabled": False, "example": False}


def moved(**changes: Any) -> dict[str, Any]:
    """Valid values with each component in a namespace of its own choosing."""
    values = {
        "monitoring": {"namespace": "metrics"},
        "spark_operator": {"namespace": "analytics"},
        "training_operator": {"namespace": "training"},
        "gpu": {"namespace": "gpu-agents"},
        "cert_manager": {"namespace": "certificates"},
        "mesh": {"namespace": "mesh-system", "gateway_namespace": "mesh-gateway"},
        "postgres_operator": {"namespace": "databases"},
    }
    for key, change in changes.items():
        values[key] = {**values.get(key, {}), **change}
    return valid_values(**values)


def test_each_deployed_component_adds_the_namespace_it_creates() -> None:
    assert platform_namespaces(load(moved())) == (
        "metrics",
        "analytics",
        "training",
        "gpu-agents",
        "certificates",
        "mesh-system",
        "mesh-gateway",
        "databases",
    )


@pytest.mark.parametrize(
    ("changes", "left_out"),
    [
        ({"monitoring": {"enabled": False}}, "metrics"),
        ({"spark_operator": OFF}, "analytics"),
        ({"training_operator": OFF}, "training"),
        ({"gpu": {"enabled": False}}, "gpu-agents"),
        ({"mesh": {"enabled": False}}, "mesh-gateway"),
        ({"postgres_operator": {"enabled": False}}, "databases"),
        # Without a GPU pool, GPU enablement is not deployed.
        ({"node_pools": {"cpu": {"max_size": 2}}}, "gpu-agents"),
    ],
)
def test_a_component_that_is_not_deployed_adds_nothing(
    changes: dict[str, Any], left_out: str
) -> None:
    found = platform_namespaces(load(moved(**changes)))
    assert left_out not in found
    assert len(found) == 8 - (2 if left_out == "mesh-gateway" else 1)


def test_the_namespaces_join_both_rules_next_to_kubernetes_own() -> None:
    config = with_platform_namespaces({}, ("analytics",))
    for rule in (FENCES, POD_SECURITY):
        assert hits(rule, namespace("analytics", "privileged"), config=config) == []
        assert hits(rule, namespace("kube-system", "privileged"), config=config) == []
        assert len(hits(rule, namespace("team-a", "privileged"), config=config)) == 1


def test_the_namespaces_are_appended_to_the_list_the_environment_gives() -> None:
    given = {FENCES: {"enforcementLevel": "mandatory", "platformNamespaces": ["team-a"]}}
    config = with_platform_namespaces(given, ("analytics", "team-a"))
    assert config[FENCES] == {
        "enforcementLevel": "mandatory",
        "platformNamespaces": ["team-a", "analytics"],
    }
    assert hits(FENCES, namespace("team-a"), namespace("analytics"), config=config) == []


def test_a_level_given_as_a_string_is_kept() -> None:
    config = with_platform_namespaces({FENCES: "advisory"}, ("analytics",))
    assert config[FENCES]["enforcementLevel"] == "advisory"
    assert "analytics" in config[FENCES]["platformNamespaces"]


def test_a_list_that_is_not_a_list_is_left_for_the_schema_to_refuse() -> None:
    config = with_platform_namespaces({FENCES: {"platformNamespaces": "team-a"}}, ("analytics",))
    with pytest.raises(PolicyConfigError, match=f"{FENCES}.platformNamespaces"):
        hits(FENCES, namespace(), config=config)


def test_plinth_policy_config_names_the_namespaces_of_the_environment(tmp_path: Path) -> None:
    environment = local_config()
    environment["plinth:spark_operator"] = {"namespace": "analytics"}
    write_environment(tmp_path, "subject", environment)
    config, _ = environment_policy_config(load_environment(tmp_path, "subject"))
    for rule in (FENCES, POD_SECURITY):
        assert "analytics" in config[rule]["platformNamespaces"]
        assert "spark-operator" not in config[rule]["platformNamespaces"]
