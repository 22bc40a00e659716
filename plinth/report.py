"""Check reports: a terminal table, Markdown for pull requests, JSON, and SARIF 2.1.0.

All four are rendered from one `CheckReport` and list the same violations in the same
order (mandatory first, then by rule and resource), so a reviewer reading the PR comment
and a code-scanning alert see the same thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from plinth.check import CheckReport, Violation
from plinth.engine import split_urn
from policies.registry import PACK_NAME, PACK_VERSION

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def resource_label(urn: str) -> str:
    """`Kind name` from a URN (the last type segment and the name), or `(stack)`."""
    if not urn:
        return "(stack)"
    _, _, qualified_type, name = split_urn(urn)
    return f"{qualified_type.rsplit('$', 1)[-1].rsplit(':', 1)[-1]} {name}"


def _summary(report: CheckReport) -> str:
    advisory = len(report.violations) - len(report.mandatory)
    return f"{len(report.mandatory)} mandatory, {advisory} advisory"


def render_table(report: CheckReport) -> str:
    """The terminal report."""
    lines = [
        f"plinth check {report.environment} (tier {report.tier}): {report.resources} resources, "
        f"{len(report.rules)} rules; config: {report.config_source}"
    ]
    rows = [
        (v.level, v.rule, resource_label(v.urn), v.message.replace("\n", " "))
        for v in report.violations
    ]
    if rows:
        widths = [
            max(len(row[i]) for row in [("LEVEL", "RULE", "RESOURCE", ""), *rows]) for i in range(3)
        ]
        for row in [("LEVEL", "RULE", "RESOURCE", "MESSAGE"), *rows]:
            lines.append(
                "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
            )
    lines += [f"waived {rule}: {text}" for rule, text in report.waivers.items()]
    lines.append(f"result: {_summary(report)}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_markdown(report: CheckReport) -> str:
    """A pull-request comment."""
    verdict = "blocked" if report.mandatory else "passes"
    lines = [
        f"### plinth check `{report.environment}` (tier {report.tier}): {verdict}",
        "",
        f"{report.resources} resources, {len(report.rules)} rules, {_summary(report)}. "
        f"Config: `{report.config_source}`.",
        "",
    ]
    if report.violations:
        lines += [
            "| level | rule | severity | resource | message |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {v.level} | `{v.rule}` | {v.severity} | `{_cell(resource_label(v.urn))}` "
            f"| {_cell(v.message)} |"
            for v in report.violations
        ]
        lines.append("")
    if report.waivers:
        lines += ["Waivers:", ""]
        lines += [f"- `{rule}`: {_cell(text)}" for rule, text in report.waivers.items()]
        lines.append("")
    return "\n".join(lines)


def render_json(report: CheckReport) -> str:
    """Machine-readable: every violation with its full URN."""
    document = {
        "environment": report.environment,
        "tier": report.tier,
        "config_source": report.config_source,
        "resources": report.resources,
        "rules": [rule.name for rule in report.rules],
        "summary": {
            "mandatory": len(report.mandatory),
            "advisory": len(report.violations) - len(report.mandatory),
        },
        "violations": [asdict(v) for v in report.violations],
        "waivers": dict(report.waivers),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_sarif(report: CheckReport) -> str:
    """SARIF 2.1.0 for code scanning: one result per violation, located at the env file."""
    rules = sorted(report.rules, key=lambda rule: rule.name)
    index = {rule.name: i for i, rule in enumerate(rules)}
    driver = {
        "name": f"plinth check ({PACK_NAME} policy pack)",
        "version": PACK_VERSION,
        "rules": [
            {
                "id": rule.name,
                "name": rule.name,
                "shortDescription": {"text": rule.policy.description},
                "help": {"text": rule.policy.remediation_steps or rule.policy.description},
                "defaultConfiguration": {
                    "level": "error"
                    if rule.levels.of(report.tier).value == "mandatory"
                    else "warning"
                },
                "properties": {
                    "severity": rule.policy.severity.value if rule.policy.severity else "",
                    "tier-levels": {
                        tier: rule.levels.of(tier).value for tier in ("dev", "staging", "prod")
                    },
                },
            }
            for rule in rules
        ],
    }
    run = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"plinth-check/{report.environment}/"},
        "results": [_sarif_result(report, v, index) for v in report.violations],
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _sarif_result(
    report: CheckReport, violation: Violation, index: dict[str, int]
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": f"environments/Pulumi.{report.environment}.yaml"},
            "region": {"startLine": 1},
        }
    }
    if violation.urn:
        location["logicalLocations"] = [{"fullyQualifiedName": violation.urn, "kind": "resource"}]
    fingerprint = hashlib.sha256(
        f"{violation.rule}\n{violation.urn}\n{violation.message}".encode()
    ).hexdigest()
    result: dict[str, Any] = {
        "ruleId": violation.rule,
        "level": "error" if violation.level == "mandatory" else "warning",
        "message": {"text": f"{resource_label(violation.urn)}: {violation.message}"},
        "locations": [location],
        "partialFingerprints": {"plinthViolation/v1": fingerprint},
    }
    if violation.rule in index:
        result["ruleIndex"] = index[violation.rule]
    return result


RENDERERS: dict[str, Callable[[CheckReport], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
    "sarif": render_sarif,
}
