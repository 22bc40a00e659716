"""`plinth check`: config resolved as the Pulumi CLI does, the pack's verdicts, the reports.

The runner drives pulumi-policy's private analyzer servicer; the tests with throw-away
rules below pin the behaviour it relies on (levels, config defaults, stack resources with
their providers), so a pulumi-policy upgrade that changes it fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from plinth.check import Violation, run_pack
from plinth.policy_config import (
    PolicyConfigError,
    layer_policy_configs,
    resolve_policy_config,
)
from plinth.policy_config import (
    main as policy_config_main,
)
from policies.framework import MANDATORY_IN_PROD, Rule, resource_rule, stack_rule
from policies.registry import RULES, tier_policy_config
from tests.conftest import ROOT, SynthesizedEnvironment
from tests.plinth.test_cli import local_config, run_plinth, write_environment
from tests.policy_harness import kubernetes


def _short_names(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    name = str(args.props.get("metadata", {}).get("name", ""))
    if len(name) > args.get_config()["maxLength"]:
        report_violation(f"name {name!r} is longer than {args.get_config()['maxLength']:g}", None)


def _no_pods_without_provider(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        if resource.props.get("kind") == "Pod" and resource.provider is None:
            report_violation("a pod without an explicit provider", resource.urn)


SHORT_NAMES = resource_rule(
    "short-names",
    "Names are short.",
    _short_names,
    severity=Severity.LOW,
    remediation="Shorten the name.",
    levels=MANDATORY_IN_PROD,
    config={"maxLength": {"type": "integer", "default": 3}},
)
EXPLICIT_PROVIDER = stack_rule(
    "explicit-provider",
    "Pods use an explicit provider.",
    _no_pods_without_provider,
    severity=Severity.HIGH,
    remediation="Pass a provider.",
)
TOY_RULES: tuple[Rule, ...] = (SHORT_NAMES, EXPLICIT_PROVIDER)
POD = kubernetes("v1", "Pod", {"metadata": {"name": "training"}})


def toy_violations(config: Mapping[str, Any], *entries: Mapping[str, Any]) -> list[Violation]:
    settings = resolve_policy_config(config, "test.json", TOY_RULES)
    return run_pack(list(entries) or [POD], settings, TOY_RULES)


def test_defaults_come_from_each_rule_and_its_schema() -> None:
    settings = resolve_policy_config({}, "test.json", TOY_RULES)
    assert settings["short-names"].enforcement_level == "mandatory"
    assert settings["short-names"].properties == {"maxLength": 3}
    assert settings["explicit-provider"].enforcement_level == "mandatory"


def test_a_rule_reports_at_its_configured_level_with_its_own_message() -> None:
    found = toy_violations({"short-names": "advisory"})
    assert [(v.rule, v.level, v.message) for v in found] == [
        ("explicit-provider", "mandatory", "a pod without an explicit provider"),
        ("short-names", "advisory", "name 'training' is longer than 3"),
    ]
    assert {v.urn for v in found} == {POD["urn"]}


def test_config_properties_reach_the_rule_and_merge_with_defaults() -> None:
    found = toy_violations({"short-names": {"maxLength": 20}, "explicit-provider": "disabled"})
    assert found == []


def test_all_sets_every_level_and_later_entries_refine_it() -> None:
    found = toy_violations({"all": "advisory", "short-names": "mandatory"})
    assert {v.rule: v.level for v in found} == {
        "short-names": "mandatory",
        "explicit-provider": "advisory",
    }


def test_stack_rules_see_each_resource_with_its_provider() -> None:
    provider = kubernetes("v1", "Namespace", {"metadata": {"name": "ns"}}, name="k8s")
    provider["type"] = "pulumi:providers:kubernetes"
    pod = {**POD, "provider": f"{provider['urn']}::k8s-id"}
    assert [v.rule for v in toy_violations({}, provider, pod)] == ["short-names"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"short-names": "strict"}, "short-names: 'strict' is not an enforcement level"),
        ({"short-names": 3}, "short-names: 3 is neither an enforcement level nor an object"),
        ({"short-names": {"maxLength": "x"}}, "short-names.maxLength: 'x' is not of type"),
        ({"short-names": {"enforcementLevel": 1}}, "enforcementLevel: 1 is not a string"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_rule(config: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyConfigError) as error:
        resolve_policy_config(config, "test.json", TOY_RULES)
    assert str(error.value).startswith("test.json: ")
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_layering_refines_per_rule() -> None:
    layered = layer_policy_configs(
        {"a": "advisory", "b": {"enforcementLevel": "mandatory", "x": 1}},
        {"a": {"y": 2}, "b": "disabled"},
    )
    assert layered == {
        "a": {"enforcementLevel": "advisory", "y": 2},
        "b": {"enforcementLevel": "disabled", "x": 1},
    }


def test_the_pack_has_unique_kebab_case_rules_with_remediation() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
        assert rule.policy.description, rule.name
        assert rule.policy.remediation_steps, rule.name
        assert rule.policy.severity is not None, rule.name
        assert rule.policy.enforcement_level == rule.levels.prod, rule.name


def test_tier_files_are_generated_from_the_rules() -> None:
    assert policy_config_main(["--check"]) == 0, "run: python -m plinth.policy_config"
    for tier in ("dev", "staging", "prod"):
        committed = json.loads((ROOT / "policies" / "config" / f"{tier}.json").read_text())
        assert committed == tier_policy_config(tier)
        resolve_policy_config(committed, f"{tier}.json")  # valid against every schema


def test_every_environment_has_no_mandatory_violation(env: SynthesizedEnvironment) -> None:
    from plinth.check import environment_policy_config  # noqa: PLC0415

    config, source = environment_policy_config(env.environment)
    found = run_pack(env.entries, resolve_policy_config(config, source))
    assert [v for v in found if v.level == "mandatory"] == []


# ---- the command line -------------------------------------------------------------


def test_check_prints_a_table_and_passes_on_local() -> None:
    result = run_plinth("check", "local", project=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("plinth check local (tier dev)")
    assert "result: 0 mandatory" in result.stdout


def test_check_writes_sarif_that_validates(tmp_path: Path, upstream: Path) -> None:
    output = tmp_path / "onprem.sarif"
    result = run_plinth(
        "check", "onprem", "--format", "sarif", "--output", str(output), project=ROOT
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    schema_path = next((upstream / "sarif").rglob("sarif-schema-2.1.0.json"))
    jsonschema.validate(document, json.loads(schema_path.read_text()))
    driver = document["runs"][0]["tool"]["driver"]
    assert {rule["id"] for rule in driver["rules"]} == {rule.name for rule in RULES}


@pytest.mark.parametrize("report_format", ["markdown", "json"])
def test_check_writes_other_formats(report_format: str) -> None:
    result = run_plinth("check", "onprem", "--format", report_format, project=ROOT)
    assert result.returncode == 0, result.stderr
    if report_format == "json":
        assert json.loads(result.stdout)["summary"]["mandatory"] == 0
    else:
        assert result.stdout.startswith("### plinth check `onprem` (tier prod): passes")


# Prod sends alerts somewhere (alert-receivers-set): a receiver as the prod files set one.
PROD_MONITORING = {"alert_receiver": {"webhook_url": "http://alert-relay.ops.svc:9095/"}}
# What prod asks of MLflow's CloudNativePG database beyond the tier's defaults: backups.
PROD_DATABASE_BACKUP = {
    "destination_path": "s3://ml-backups/mlflow-db",
    "endpoint_url": "https://s3.example.internal",
    "credentials_secret": "mlflow-db-backup",
}


def prod_config() -> dict[str, object]:
    """local's configuration at the prod tier, with what prod requires set (an alert
    receiver, database backups) and the examples, which prod refuses, off."""
    config = local_config()
    config["plinth:tier"] = "prod"
    config["plinth:spark_operator"] = {"example": False}
    config["plinth:training_operator"] = {"example": False}
    config["plinth:monitoring"] = PROD_MONITORING
    mlflow = config["plinth:mlflow"]
    assert isinstance(mlflow, dict)
    mlflow["database"] = {"cloudnative_pg": {"backup": PROD_DATABASE_BACKUP}}
    return config


def test_mandatory_violation_exits_1(tmp_path: Path) -> None:
    config = prod_config()
    write_environment(tmp_path, "strict", config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("check", "strict", "--format", "json", project=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    mandatory = {v["rule"] for v in report["violations"] if v["level"] == "mandatory"}
    # The same images pass in dev (advisory) but prod requires digests: the operators' and
    # the GPU agents' images, pinned by tag (the examples are off).
    assert mandatory == {"images-pinned-by-digest"}
    blocked = [v for v in report["violations"] if v["level"] == "mandatory"]
    assert report["summary"]["mandatory"] == len(blocked)
    assert any(v["urn"].endswith("::strict-training-controller") for v in blocked)


def waiving_an_unknown_rule(project: Path) -> None:
    """An environment `waived` in `project` whose plinth:policy waives a rule that does not
    exist."""
    config = local_config()
    config["plinth:policy"] = {
        "waivers": {
            "no-such-rule": {"enforcement_level": "advisory", "reason": "needed for a demo"}
        }
    }
    write_environment(project, "waived", config)


def test_waiver_for_an_unknown_rule_is_a_one_line_error(tmp_path: Path) -> None:
    waiving_an_unknown_rule(tmp_path)
    result = run_plinth("check", "waived", project=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "plinth:policy.waivers.no-such-rule: no such rule" in result.stderr


def test_bad_policy_config_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text("{not json")
    result = run_plinth("check", "local", "--policy-config", str(bad), project=ROOT)
    assert result.returncode == 2
    assert f"{bad}: not valid JSON at line 1" in result.stderr


def test_policy_config_prints_what_check_uses() -> None:
    result = run_plinth("policy-config", "onprem", project=ROOT)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    waivers = yaml.safe_load((ROOT / "environments" / "Pulumi.onprem.yaml").read_text())["config"]
    for rule, waiver in waivers.get("plinth:policy", {}).get("waivers", {}).items():
        assert printed[rule]["enforcementLevel"] == waiver["enforcement_level"]
    resolve_policy_config(printed, "printed")


def test_a_waiver_relaxes_its_rule_and_is_printed_with_its_reason(tmp_path: Path) -> None:
    config = prod_config()
    reason = "mirror pins digests; revisit by 2027-03"
    config["plinth:policy"] = {
        "waivers": {"images-pinned-by-digest": {"enforcement_level": "advisory", "reason": reason}}
    }
    write_environment(tmp_path, "waived", config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("check", "waived", project=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [waived] = [line for line in result.stdout.splitlines() if line.startswith("waived ")]
    assert waived.startswith("waived images-pinned-by-digest")
    assert waived.endswith(f": {reason}")
    assert "advisory  images-pinned-by-digest" in result.stdout


def test_check_reads_a_plan_written_by_synth(tmp_path: Path) -> None:
    assert run_plinth("synth", "onprem", "--out", str(tmp_path), project=ROOT).returncode == 0
    plan = tmp_path / "plan.json"
    from_plan = run_plinth("check", "onprem", "--plan", str(plan), "--format", "json", project=ROOT)
    fresh = run_plinth("check", "onprem", "--format", "json", project=ROOT)
    assert from_plan.returncode == fresh.returncode == 0, from_plan.stderr
    assert json.loads(from_plan.stdout) == json.loads(fresh.stdout)
    wrong = run_plinth("check", "local", "--plan", str(plan), project=ROOT)
    assert wrong.returncode == 2
    assert "not a plan of environment 'local'" in wrong.stderr
