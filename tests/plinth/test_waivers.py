"""Waivers and exemptions: a verdict is never switched off quietly.

A rule below its tier's level is a waiver, declared in `plinth:policy.waivers` with a
reason of real words; an exemption with wildcards is a waiver too; the rules that are not
waivable in prod cannot be waived there at all. Every waiver and exemption, and every
finding one hides, is listed with its reason in every report format.

One environment factory (`environment`), one compliant-but-for-one-rule workload; each
case changes one thing.
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from plinth.check import (
    CheckReport,
    EnvironmentPolicy,
    Violation,
    environment_policy,
    findings,
)
from plinth.environments import Environment, load_environment
from plinth.exemptions import component_exemptions
from plinth.policy_config import PolicyConfigError
from plinth.report import RENDERERS, render_json, render_sarif, render_table
from policies.registry import RULES
from stacks.config import ConfigError
from tests.conftest import ROOT
from tests.plinth.test_cli import local_config, run_plinth, write_environment
from tests.policies.kubernetes.pods import changed
from tests.policies.kubernetes.test_exemptions import device_plugin

REASON = "the device plugin registers GPUs with the kubelet; revisit by 2027-03"
NEVER_WAIVED_IN_PROD = sorted(rule.name for rule in RULES if not rule.waivable_in_prod)
# A Deployment that breaks exactly one rule everywhere: it runs as root.
ROOT_USER = changed("securityContext.runAsUser", 0)


def environment(tmp_path: Path, tier: str = "dev", **policy: Any) -> Environment:
    """The local environment at `tier`, with `plinth:policy` set to `policy`.

    Without GPU enablement and monitoring: their agents' own exemptions (device plugin,
    node exporter) are tested with the components, and here every exemption is one the
    test declares."""
    config = local_config()
    config["plinth:tier"] = tier
    config["plinth:gpu"] = {"enabled": False}
    config["plinth:monitoring"] = {"enabled": False}
    if tier == "prod":
        config["plinth:spark_operator"] = {"example": False}
        config["plinth:training_operator"] = {"example": False}
    config["plinth:policy"] = policy
    write_environment(tmp_path, "subject", config)
    return load_environment(tmp_path, "subject")


def waiver(level: str = "disabled", reason: str = REASON) -> dict[str, str]:
    return {"enforcement_level": level, "reason": reason}


def exemption(namespace: str = "ml-jobs", name: str = "trainer", **extra: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "reason": REASON, **extra}


def of_rule(rule: str, found: list[Violation] | tuple[Violation, ...]) -> list[Violation]:
    """The findings of one rule (the hand-built objects miss labels other rules want)."""
    return [violation for violation in found if violation.rule == rule]


def report_of(policy: EnvironmentPolicy, tier: str, *entries: dict[str, Any]) -> CheckReport:
    return CheckReport(
        environment="subject",
        tier=tier,
        config_source=policy.source,
        rules=RULES,
        violations=tuple(findings(list(entries), policy, tier)),
        waivers=policy.deviations.waivers,
        exemptions=policy.deviations.exemptions,
        resources=len(entries),
    )


# ---- what may be waived, and how ---------------------------------------------------


def test_a_lower_level_in_rule_config_is_refused_without_a_waiver(tmp_path: Path) -> None:
    env = environment(tmp_path, config={"pss-run-as-non-root": {"enforcementLevel": "disabled"}})
    with pytest.raises(PolicyConfigError) as error:
        environment_policy(env)
    message = str(error.value)
    assert message.startswith(
        "environments/Pulumi.subject.yaml: plinth:policy.config.pss-run-as-non-root."
        "enforcementLevel: 'disabled' is below the dev tier's 'mandatory'"
    )
    assert "plinth:policy.waivers.pss-run-as-non-root" in message
    assert "\n" not in message


def test_a_level_lower_than_its_waiver_is_refused(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        waivers={"pss-run-as-non-root": waiver("advisory")},
        config={"pss-run-as-non-root": {"enforcementLevel": "disabled"}},
    )
    with pytest.raises(PolicyConfigError, match="below the 'advisory' its waiver declares"):
        environment_policy(env)


def test_a_higher_level_in_rule_config_is_no_waiver(tmp_path: Path) -> None:
    env = environment(
        tmp_path, config={"images-pinned-by-digest": {"enforcementLevel": "mandatory"}}
    )
    assert environment_policy(env).deviations.waivers == ()


@pytest.mark.parametrize(
    "reason",
    [
        " " * 12,
        "\u200b" * 12,
        "-----------",
        "1234567890 2027",
        "tbd, ok, x",
        "mirror pins digests\nresult: 0 mandatory",
        "mirror pins \x1b[32mdigests, revisit later",
        "mirror pins digests\u202e, revisit later",
    ],
    ids=["blank", "zero-width", "dashes", "digits", "two-words", "newline", "ansi", "bidi"],
)
def test_a_waiver_reason_must_be_words_on_one_line(tmp_path: Path, reason: str) -> None:
    with pytest.raises(ConfigError) as error:
        environment(tmp_path, waivers={"images-pinned-by-digest": waiver(reason=reason)})
    message = str(error.value)
    assert "plinth:policy.waivers.images-pinned-by-digest.reason" in message
    assert "\n" not in message
    assert "\x1b" not in message


def test_an_exemption_reason_must_be_words_on_one_line(tmp_path: Path) -> None:
    entry = {**exemption(), "reason": "ok\n result: 0 mandatory"}
    env = environment(tmp_path, config={"pss-run-as-non-root": {"exemptWorkloads": [entry]}})
    with pytest.raises(PolicyConfigError) as error:
        environment_policy(env)
    assert str(error.value).startswith(
        "environments/Pulumi.subject.yaml: plinth:policy.config.pss-run-as-non-root."
        "exemptWorkloads[0].reason: the reason contains invisible or control characters"
    )


@pytest.mark.parametrize("rule", NEVER_WAIVED_IN_PROD)
def test_rules_never_waived_in_prod_refuse_a_waiver_there(tmp_path: Path, rule: str) -> None:
    env = environment(tmp_path, "prod", waivers={rule: waiver("advisory")})
    with pytest.raises(PolicyConfigError) as error:
        environment_policy(env)
    assert str(error.value).startswith(
        f"environments/Pulumi.subject.yaml: plinth:policy.waivers.{rule}: {rule} can never "
        "be waived in prod"
    )


def test_the_never_waived_set_is_the_documented_one() -> None:
    threat_model = (ROOT / "docs" / "threat-model.md").read_text()
    for rule in NEVER_WAIVED_IN_PROD:
        assert f"`{rule}`" in threat_model, rule
    # Each is a baseline guarantee: mandatory in prod.
    assert all(rule.levels.prod.value == "mandatory" for rule in RULES if not rule.waivable_in_prod)


def test_the_same_waiver_is_allowed_below_prod(tmp_path: Path) -> None:
    env = environment(tmp_path, "staging", waivers={"pss-no-privileged": waiver()})
    [only] = environment_policy(env).deviations.waivers
    assert (only.rule, only.tier_level, only.level, only.reason) == (
        "pss-no-privileged",
        "mandatory",
        "disabled",
        REASON,
    )


def test_a_waivable_rule_may_be_waived_in_prod(tmp_path: Path) -> None:
    env = environment(tmp_path, "prod", waivers={"images-pinned-by-digest": waiver("advisory")})
    assert [w.rule for w in environment_policy(env).deviations.waivers] == [
        "images-pinned-by-digest"
    ]


@pytest.mark.parametrize(
    ("namespace", "name"), [("*", "*"), ("ml-jobs", "*"), ("ml-*", "trainer"), ("ml-jobs", "t?")]
)
def test_a_wildcard_exemption_is_a_waiver_refused_in_prod(
    tmp_path: Path, namespace: str, name: str
) -> None:
    config = {"pss-no-privileged": {"exemptWorkloads": [exemption(namespace, name)]}}
    with pytest.raises(PolicyConfigError) as error:
        environment_policy(environment(tmp_path, "prod", config=config))
    assert str(error.value).startswith(
        "environments/Pulumi.subject.yaml: plinth:policy.config.pss-no-privileged."
        "exemptWorkloads[0]: pss-no-privileged can never be waived in prod"
    )


def test_exemptions_count_only_where_the_rule_takes_them(tmp_path: Path) -> None:
    config = {"s3-bucket-encrypted": {"exemptWorkloads": [{"name": "*"}]}}
    assert environment_policy(environment(tmp_path, config=config)).deviations.exemptions == ()


def test_a_named_exemption_is_allowed_in_prod_and_kept_with_its_reason(tmp_path: Path) -> None:
    config = {
        "pss-host-path-volumes": {
            "exemptWorkloads": [
                exemption(
                    "gpu-operator",
                    "nvidia-device-plugin-daemonset",
                    pathPrefixes=["/var/lib/kubelet/device-plugins"],
                )
            ]
        }
    }
    policy = environment_policy(environment(tmp_path, "prod", config=config))
    [only] = policy.deviations.exemptions
    assert (only.rule, only.namespace, only.name, only.reason, only.wildcard) == (
        "pss-host-path-volumes",
        "gpu-operator",
        "nvidia-device-plugin-daemonset",
        REASON,
        False,
    )
    assert policy.deviations.waivers == ()


# ---- what the pack then reports ------------------------------------------------------


def test_a_disabled_rule_still_shows_what_it_would_report(tmp_path: Path) -> None:
    policy = environment_policy(environment(tmp_path, waivers={"pss-run-as-non-root": waiver()}))
    found = of_rule("pss-run-as-non-root", findings([ROOT_USER], policy, "dev"))
    assert [(v.level, v.rule, v.waived_by) for v in found] == [
        ("waived", "pss-run-as-non-root", REASON)
    ]


def test_an_advisory_waiver_keeps_the_finding_at_advisory_with_its_reason(tmp_path: Path) -> None:
    policy = environment_policy(
        environment(tmp_path, waivers={"pss-run-as-non-root": waiver("advisory")})
    )
    found = of_rule("pss-run-as-non-root", findings([ROOT_USER], policy, "dev"))
    assert [(v.level, v.rule, v.waived_by) for v in found] == [
        ("advisory", "pss-run-as-non-root", REASON)
    ]


def test_an_exempted_workload_is_listed_as_exempt_with_its_reason(tmp_path: Path) -> None:
    config = {"pss-run-as-non-root": {"exemptWorkloads": [exemption()]}}
    policy = environment_policy(environment(tmp_path, config=config))
    other = changed("securityContext.runAsUser", 0)
    other["inputs"]["metadata"]["name"] = "other"
    other["urn"] += "-other"
    found = of_rule("pss-run-as-non-root", findings([ROOT_USER, other], policy, "dev"))
    assert sorted((v.level, v.urn, v.waived_by) for v in found) == sorted(
        [("mandatory", other["urn"], ""), ("exempt", ROOT_USER["urn"], REASON)]
    )


def test_a_wildcard_exemption_below_prod_is_listed_as_a_waiver(tmp_path: Path) -> None:
    config = {"pss-no-host-namespaces": {"exemptWorkloads": [exemption("*", "*")]}}
    policy = environment_policy(environment(tmp_path, "staging", config=config))
    report = report_of(policy, "staging", device_plugin())
    [hidden] = of_rule("pss-no-host-namespaces", report.violations)
    assert (hidden.level, hidden.rule, hidden.waived_by) == (
        "exempt",
        "pss-no-host-namespaces",
        REASON,
    )
    assert of_rule("pss-no-host-namespaces", report.mandatory) == []
    table = render_table(report)
    assert f"waived pss-no-host-namespaces for */* (wildcard exemption): {REASON}" in table
    assert json.loads(render_json(report))["exemptions"][0]["wildcard"] is True


@pytest.mark.parametrize("report_format", sorted(RENDERERS))
def test_every_format_prints_every_waiver_and_exemption_with_its_reason(
    tmp_path: Path, report_format: str
) -> None:
    reasons = {
        "waiver": "images are mirrored and pinned by the registry; revisit by 2027-03",
        "exemption": "the device plugin registers GPUs with the kubelet socket",
    }
    env = environment(
        tmp_path,
        "staging",
        waivers={"images-pinned-by-digest": waiver(reason=reasons["waiver"])},
        config={
            "pss-no-host-namespaces": {
                "exemptWorkloads": [
                    {
                        "namespace": "gpu-operator",
                        "name": "nvidia-device-plugin-daemonset",
                        "reason": reasons["exemption"],
                    }
                ]
            }
        },
    )
    policy = environment_policy(env)
    report = report_of(policy, "staging", device_plugin())
    rendered = shown(report_format, RENDERERS[report_format](report))
    for reason in reasons.values():
        assert reason in rendered
    assert "nvidia-device-plugin-daemonset" in rendered


@pytest.mark.parametrize("report_format", sorted(RENDERERS))
def test_every_format_lists_the_exemptions_components_declare(
    tmp_path: Path, report_format: str
) -> None:
    env = environment(tmp_path, "prod")
    env = replace(env, platform=load_environment(ROOT, "prod").platform)
    declared = component_exemptions(env.platform)
    assert declared, "the prod environment deploys the GPU agents"
    policy = environment_policy(env)
    listed = {(e.rule, e.namespace, e.name, e.reason) for e in policy.deviations.exemptions}
    assert {(e.rule, e.namespace, e.name, e.reason) for e in declared} <= listed
    rendered = shown(report_format, RENDERERS[report_format](report_of(policy, "prod")))
    for exemption in declared:
        assert exemption.name in rendered
        assert exemption.reason in rendered


def shown(report_format: str, rendered: str) -> str:
    """What a reader sees: Markdown as rendered (by markdown-it-py), the rest as printed."""
    if report_format != "markdown":
        return rendered
    return html.unescape(MarkdownIt("commonmark").enable("table").render(rendered))


def test_sarif_marks_waived_and_exempt_results_as_suppressed(
    tmp_path: Path, upstream: Path
) -> None:
    env = environment(
        tmp_path,
        waivers={"pss-run-as-non-root": waiver("advisory")},
        config={"pss-no-host-namespaces": {"exemptWorkloads": [exemption("gpu-operator", "*")]}},
    )
    report = report_of(environment_policy(env), "dev", ROOT_USER, device_plugin())
    document = json.loads(render_sarif(report))
    schema_path = next((upstream / "sarif").rglob("sarif-schema-2.1.0.json"))
    jsonschema.validate(document, json.loads(schema_path.read_text()))
    results = document["runs"][0]["results"]
    suppressed = {
        (result["ruleId"], result["suppressions"][0]["justification"])
        for result in results
        if "suppressions" in result
    }
    assert suppressed == {("pss-run-as-non-root", REASON), ("pss-no-host-namespaces", REASON)}
    # The device plugin's other findings (host path) are not covered by the exemption.
    assert any(r["ruleId"] == "pss-host-path-volumes" and "suppressions" not in r for r in results)


# ---- the command line ---------------------------------------------------------------


def test_disabling_a_never_waived_rule_in_prod_exits_2_in_check_and_policy_config(
    tmp_path: Path,
) -> None:
    config = local_config()
    config["plinth:tier"] = "prod"
    config["plinth:spark_operator"] = {"example": False}
    config["plinth:training_operator"] = {"example": False}
    config["plinth:policy"] = {
        "config": {"pss-no-privileged": {"exemptWorkloads": [exemption("*", "*")]}}
    }
    write_environment(tmp_path, "subject", config)
    for command in ("check", "policy-config"):
        result = run_plinth(command, "subject", project=tmp_path)
        assert result.returncode == 2, command
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "pss-no-privileged can never be waived in prod" in result.stderr


def test_a_policy_config_file_may_lower_only_what_the_environment_waives(tmp_path: Path) -> None:
    printed = run_plinth("policy-config", "local", project=ROOT)
    assert printed.returncode == 0, printed.stderr
    exported = tmp_path / "local-policy.json"
    exported.write_text(printed.stdout)
    lowered = tmp_path / "lowered.json"
    lowered.write_text(json.dumps({"all": "disabled"}))
    result = run_plinth("check", "local", "--policy-config", str(lowered), project=ROOT)
    assert result.returncode == 2
    assert result.stderr.startswith(f"plinth: error: {lowered}: ")
    assert "no waiver declares it" in result.stderr
    exported_check = run_plinth("check", "local", "--policy-config", str(exported), project=ROOT)
    assert exported_check.returncode == 0, exported_check.stderr
