"""Plinth's alert rules, checked and unit-tested by the real promtool.

The rules come from the PrometheusRule objects Plinth renders for an environment (the
same objects `plinth synth` writes), never from the Python that builds them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.rules import PLATFORM_CONTROLLERS
from plinth.check import environment_policy_config
from plinth.engine import kubernetes_objects
from plinth.environments import load_environment
from tests.conftest import ROOT
from tests.promtool import check_rules, rule_groups, test_rules
from tests.upstream_schemas import plan_entries

UNIT_TESTS = sorted((Path(__file__).parent / "monitoring_rules").glob("*.yaml"))
PLINTH_RULES = "plinth-platform"  # metadata.name of Plinth's own PrometheusRule
# `dev` runs on EKS with the cluster-autoscaler; `local` on an existing cluster without it.
WITH_AUTOSCALER, WITHOUT_AUTOSCALER = "dev", "local"
ENVIRONMENTS = ("local", "onprem", "dev", "staging", "prod")


def rendered(environment: str) -> list[dict[str, Any]]:
    return kubernetes_objects(list(plan_entries(ROOT, environment)))


def plinth_groups(environment: str) -> list[dict[str, Any]]:
    """The rule groups of Plinth's own PrometheusRule in `environment`'s render."""
    ours = [o for o in rendered(environment) if o["metadata"]["name"] == PLINTH_RULES]
    assert len(ours) == 1, f"{environment}: {len(ours)} PrometheusRule {PLINTH_RULES}"
    return rule_groups(ours)


def alerts(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def with_descriptions(unit_test: dict[str, Any], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """`unit_test` with each expected alert's description, the rule's plain text, filled in
    (each test states the summary, which carries the labels)."""
    filled = copy.deepcopy(unit_test)
    by_name = alerts(groups)
    for case in filled["tests"]:
        for check in case.get("alert_rule_test", []):
            description = by_name[check["alertname"]]["annotations"]["description"]
            for expected in check.get("exp_alerts", []):
                expected.setdefault("exp_annotations", {}).setdefault("description", description)
    return filled


def load_unit_test(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_promtool_accepts_every_rule_the_environment_ships(
    environment: str, tmp_path: Path
) -> None:
    groups = rule_groups(rendered(environment))  # the chart's default rules and Plinth's
    assert len(groups) > len(plinth_groups(environment))
    result = check_rules(tmp_path, groups)
    assert result.passed, result.output


@pytest.mark.parametrize("path", UNIT_TESTS, ids=lambda path: path.stem)
def test_alert_rules_fire_as_their_unit_tests_expect(path: Path, tmp_path: Path) -> None:
    groups = plinth_groups(WITH_AUTOSCALER)
    result = test_rules(tmp_path, groups, with_descriptions(load_unit_test(path), groups))
    assert result.passed, result.output


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    fired = {
        check["alertname"]
        for path in UNIT_TESTS
        for case in load_unit_test(path)["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert set(alerts(plinth_groups(WITH_AUTOSCALER))) == fired


def test_a_rule_with_a_broken_expression_fails_the_check(tmp_path: Path) -> None:
    groups = plinth_groups(WITHOUT_AUTOSCALER)
    broken = copy.deepcopy(groups)
    broken[0]["rules"][0]["expr"] = "max by (Hostname (DCGM_FI_DEV_XID_ERRORS) > 0"
    result = check_rules(tmp_path, broken)
    assert not result.passed
    assert "parse error" in result.output


def test_a_rule_with_a_wrong_expression_fails_its_unit_test(tmp_path: Path) -> None:
    groups = plinth_groups(WITH_AUTOSCALER)
    gpu_tests = next(path for path in UNIT_TESTS if path.stem == "gpu")
    unit_test = with_descriptions(load_unit_test(gpu_tests), groups)
    assert test_rules(tmp_path, groups, unit_test).passed
    wrong = copy.deepcopy(groups)
    rule = alerts(wrong)["GpuXidError"]
    rule["expr"] = rule["expr"].replace("> 0", "> 100")  # valid PromQL, wrong threshold
    result = test_rules(tmp_path, wrong, unit_test)
    assert not result.passed
    assert "GpuXidError" in result.output


def test_node_pool_at_max_needs_the_autoscalers_metrics() -> None:
    assert "NodePoolAtMax" in alerts(plinth_groups(WITH_AUTOSCALER))
    assert "NodePoolAtMax" not in alerts(plinth_groups(WITHOUT_AUTOSCALER))
    assert "PodsUnschedulable" in alerts(plinth_groups(WITHOUT_AUTOSCALER))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_controller_in_a_platform_namespace_is_watched(environment: str) -> None:
    config, _ = environment_policy_config(load_environment(ROOT, environment))
    platform = set(config["namespace-pod-security"]["platformNamespaces"])
    deployments = {
        o["metadata"]["name"]
        for o in rendered(environment)
        if o["kind"] == "Deployment" and o["metadata"].get("namespace") in platform
    }
    assert deployments
    assert deployments <= set(PLATFORM_CONTROLLERS), sorted(deployments - set(PLATFORM_CONTROLLERS))


def test_a_missing_promtool_fails_the_rule_tests(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("tests.promtool.shutil.which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception, match="promtool not found"):
        check_rules(tmp_path, plinth_groups(WITHOUT_AUTOSCALER))
