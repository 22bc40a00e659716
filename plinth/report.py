"""Check reports: a terminal table, Markdown for pull requests, JSON, and SARIF 2.1.0.

All four are rendered from one `CheckReport` and list the same violations in the same
order (mandatory first, then by rule and resource) and every waiver and exemption with
its reason, so a reviewer reading the PR comment and a code-scanning alert see the same
thing. Text that can come from configuration (names, reasons, values quoted in messages)
is printed escaped: the table and Markdown show control and invisible characters as
escapes and Markdown-active characters literally; JSON and SARIF rely on the encoder.

SARIF results and the Markdown rows point at where the finding was configured: the line
of the environment file that configured the resource, else the component's source
(`plinth/locations.py` says how a resource maps to a config key).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from plinth.check import CheckReport, Violation
from plinth.engine import split_urn
from plinth.locations import SourceLocation
from plinth.policy_config import Exemption
from policies.registry import PACK_NAME, PACK_VERSION
from stacks.text import escape_controls

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def resource_label(urn: str) -> str:
    """`Kind name` from a URN (the last type segment and the name), or `(stack)`."""
    if not urn:
        return "(stack)"
    _, _, qualified_type, name = split_urn(urn)
    return f"{qualified_type.rsplit('$', 1)[-1].rsplit(':', 1)[-1]} {name}"


def location(report: CheckReport, violation: Violation) -> SourceLocation:
    """Where `violation` was configured; the environment file when nothing says more."""
    found = report.locations.get(violation.urn)
    return found or SourceLocation(f"environments/Pulumi.{report.environment}.yaml", 1)


def _summary(report: CheckReport) -> str:
    counts = [f"{report.count('mandatory')} mandatory", f"{report.count('advisory')} advisory"]
    counts += [
        f"{report.count(level)} {level}" for level in ("waived", "exempt") if report.count(level)
    ]
    return ", ".join(counts)


@dataclass(frozen=True)
class _Deviation:
    """One waiver or exemption as the reports print it."""

    kind: str  # "waived" or "exempt"
    rule: str
    workload: str  # namespace/name of an exemption, else empty
    note: str
    reason: str


def _deviations(report: CheckReport) -> list[_Deviation]:
    """Every waiver and exemption of the report, waivers first."""
    found = [
        _Deviation(
            "waived", w.rule, "", f"{w.tier_level} -> {w.level} in tier {report.tier}", w.reason
        )
        for w in report.waivers
    ]
    for wildcard in (True, False):
        found += [
            _Deviation(
                "waived" if wildcard else "exempt",
                e.rule,
                f"{e.namespace}/{e.name}",
                "wildcard exemption" if wildcard else "",
                e.reason,
            )
            for e in report.exemptions
            if e.wildcard == wildcard
        ]
    return found


def _table_line(deviation: _Deviation) -> str:
    workload = f" for {deviation.workload}" if deviation.workload else ""
    note = f" ({deviation.note})" if deviation.note else ""
    return f"{deviation.kind} {deviation.rule}{workload}{note}: {deviation.reason}"


def _markdown_item(deviation: _Deviation) -> str:
    workload = f" for {_code(deviation.workload, in_table=False)}" if deviation.workload else ""
    note = f" ({deviation.note})" if deviation.note else ""
    return f"- {_code(deviation.rule, in_table=False)}{workload}{note}: {_text(deviation.reason)}"


def render_table(report: CheckReport) -> str:
    """The terminal report."""
    lines = [
        f"plinth check {report.environment} (tier {report.tier}): {report.resources} resources, "
        f"{len(report.rules)} rules; config: {report.config_source}"
    ]
    if report.violations:
        rows = [
            [escape_controls(cell) for cell in (v.level, v.rule, resource_label(v.urn), v.message)]
            for v in report.violations
        ]
        rows.insert(0, ["LEVEL", "RULE", "RESOURCE", "MESSAGE"])
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines += [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
            for row in rows
        ]
    lines += [_table_line(deviation) for deviation in _deviations(report)]
    lines.append(f"result: {_summary(report)}")
    return "\n".join(escape_controls(line) for line in lines) + "\n"


# Characters Markdown would act on inside a table cell or list item: emphasis, code,
# links and images, HTML and entities, strikethrough, the cell separator, the escape.
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>&~|!])")


def _text(text: str) -> str:
    """Plain text as one Markdown table cell or list item, shown literally."""
    return escape_controls(_MARKDOWN_ACTIVE.sub(r"\\\1", text))


def _code(text: str, *, in_table: bool = True) -> str:
    """A code span holding `text` literally, whatever backticks and pipes it contains."""
    shown = escape_controls(text)
    if in_table:
        shown = shown.replace("|", "\\|")  # GFM splits cells before reading code spans
    fence = "`" * (max((len(run) for run in re.findall(r"`+", shown)), default=0) + 1)
    padding = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{padding}{shown}{padding}{fence}"


def render_markdown(report: CheckReport) -> str:
    """A pull-request comment."""
    verdict = "blocked" if report.mandatory else "passes"
    lines = [
        f"### plinth check {_code(report.environment, in_table=False)} (tier {report.tier}): "
        f"{verdict}",
        "",
        f"{report.resources} resources, {len(report.rules)} rules, {_summary(report)}. "
        f"Config: {_code(report.config_source, in_table=False)}.",
        "",
    ]
    if report.violations:
        lines += [
            "| level | rule | severity | resource | configured at | message | waived because |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {v.level} | {_code(v.rule)} | {v.severity} | {_code(resource_label(v.urn))} "
            f"| {_where(location(report, v))} | {_text(v.message)} | {_text(v.waived_by)} |"
            for v in report.violations
        ]
        lines.append("")
    for title, verb in (("Waivers", "waived"), ("Exemptions", "exempt")):
        items = [_markdown_item(d) for d in _deviations(report) if d.kind == verb]
        if items:
            lines += [f"{title}:", "", *items, ""]
    return "\n".join(lines)


def _where(found: SourceLocation) -> str:
    key = f" {_code(found.key)}" if found.key else ""
    return f"{_code(f'{found.path}:{found.line}')}{key}"


def render_json(report: CheckReport) -> str:
    """Machine-readable: every violation with its full URN."""
    document = {
        "environment": report.environment,
        "tier": report.tier,
        "config_source": report.config_source,
        "resources": report.resources,
        "rules": [rule.name for rule in report.rules],
        "summary": {
            level: report.count(level) for level in ("mandatory", "advisory", "waived", "exempt")
        },
        "violations": [asdict(v) for v in report.violations],
        "waivers": [asdict(w) for w in report.waivers],
        "exemptions": [_exemption_document(e) for e in report.exemptions],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _exemption_document(exemption: Exemption) -> dict[str, Any]:
    return {**asdict(exemption), "wildcard": exemption.wildcard}


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
                    "waivable-in-prod": rule.waivable_in_prod,
                },
            }
            for rule in rules
        ],
    }
    run = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"plinth-check/{report.environment}/"},
        "results": [_sarif_result(report, v, index) for v in report.violations],
        # Waivers and exemptions that hide nothing today are still part of the verdict.
        "properties": {
            "waivers": [asdict(w) for w in report.waivers],
            "exemptions": [_exemption_document(e) for e in report.exemptions],
        },
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _sarif_result(
    report: CheckReport, violation: Violation, index: dict[str, int]
) -> dict[str, Any]:
    found = location(report, violation)
    where: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": found.path},
            "region": {"startLine": found.line},
        }
    }
    logical = [{"fullyQualifiedName": violation.urn, "kind": "resource"}] if violation.urn else []
    if found.key:
        logical.append({"fullyQualifiedName": found.key, "kind": "property"})
    if logical:
        where["logicalLocations"] = logical
    fingerprint = hashlib.sha256(
        f"{violation.rule}\n{violation.urn}\n{violation.message}".encode()
    ).hexdigest()
    result: dict[str, Any] = {
        "ruleId": violation.rule,
        "level": _sarif_level(report, violation),
        "message": {"text": f"{resource_label(violation.urn)}: {violation.message}"},
        "locations": [where],
        "partialFingerprints": {"plinthViolation/v1": fingerprint},
    }
    if violation.rule in index:
        result["ruleIndex"] = index[violation.rule]
    if violation.waived_by:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": violation.waived_by}
        ]
    return result


def _sarif_level(report: CheckReport, violation: Violation) -> str:
    """error for a blocking finding; a waived or exempt one keeps its tier's level."""
    level = violation.level
    if level in ("waived", "exempt"):
        rules = {rule.name: rule for rule in report.rules}
        rule = rules.get(violation.rule)
        level = rule.levels.of(report.tier).value if rule else "advisory"
    return "error" if level == "mandatory" else "warning"


RENDERERS: dict[str, Callable[[CheckReport], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
    "sarif": render_sarif,
}
