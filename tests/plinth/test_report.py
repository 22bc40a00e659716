"""Reports print text from configuration escaped: it can neither forge a line nor render.

A reason, a workload name or a value quoted in a message may hold a newline, ANSI escape
codes, zero-width characters, pipes, backticks or HTML. The table and Markdown show them
as visible escapes (checked for Markdown with markdown-it-py, an independent CommonMark
parser with GFM tables); JSON and SARIF carry them exactly, encoded by the JSON encoder.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from plinth.check import CheckReport, Violation
from plinth.policy_config import (
    Exemption,
    PolicyConfigError,
    Waiver,
    load_policy_config_file,
    resolve_policy_config,
)
from plinth.report import render_json, render_markdown, render_sarif, render_table
from policies.registry import RULES
from stacks.text import escape_controls
from tests.conftest import ROOT
from tests.plinth.test_cli import local_config, run_plinth, write_environment

# What a report must never print raw: control, format (zero-width, bidirectional),
# private-use, surrogate and unassigned characters, line and paragraph separators.
HiddenCategory = Literal["Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"]
HIDDEN_CATEGORIES: tuple[HiddenCategory, ...] = ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")

HOSTILE = (
    "mirror pins digests\n result: 0 mandatory \x1b[32m| `tick` <!-- *bold* "
    "[link](http://example.com) &amp; \u200b end"
)
# The same text as a reader must see it: each control or invisible character escaped.
HOSTILE_SHOWN = (
    "mirror pins digests\\n result: 0 mandatory \\x1b[32m| `tick` <!-- *bold* "
    "[link](http://example.com) &amp; \\u200b end"
)
URN = "urn:pulumi:test::plinth::kubernetes:apps/v1:Deployment::"


def hostile_report() -> CheckReport:
    """A report in which every text that can come from configuration is hostile."""
    return CheckReport(
        environment="subject",
        tier="staging",
        config_source="policies/config/staging.json + environments/Pulumi.subject.yaml",
        rules=RULES,
        violations=(
            Violation("mandatory", "pss-no-privileged", URN + "a`b|c", "", HOSTILE, "critical"),
            Violation(
                "advisory",
                "images-pinned-by-digest",
                URN + "x",
                "",
                "not pinned",
                "medium",
                HOSTILE,
            ),
            Violation(
                "exempt", "pss-no-host-namespaces", URN + "y", "", "hostNetwork", "", HOSTILE
            ),
        ),
        waivers=(Waiver("images-pinned-by-digest", "mandatory", "advisory", HOSTILE),),
        exemptions=(
            Exemption("pss-no-host-namespaces", "gpu-operator", HOSTILE, HOSTILE),
            Exemption("pss-no-host-ports", "gpu-operator", "dcgm-exporter", HOSTILE),
        ),
        resources=3,
    )


@given(st.text())
def test_escaped_text_holds_no_control_or_invisible_character(text: str) -> None:
    shown = escape_controls(text)
    assert not [char for char in shown if unicodedata.category(char) in HIDDEN_CATEGORIES]
    assert shown.count("\\") >= text.count("\\")  # escapes only add


@given(st.text(st.characters(exclude_categories=HIDDEN_CATEGORIES)))
def test_visible_text_is_printed_unchanged(text: str) -> None:
    assert escape_controls(text) == text


def test_a_policy_config_file_error_quotes_its_keys_escaped(tmp_path: Path) -> None:
    config_file = tmp_path / "policy.json"
    config_file.write_text(json.dumps({"pss-no-privileged\n result: 0 mandatory": "strict"}))
    with pytest.raises(PolicyConfigError) as error:
        resolve_policy_config(load_policy_config_file(config_file), str(config_file))
    assert "\n" not in str(error.value)
    assert "pss-no-privileged\\n result: 0 mandatory" in str(error.value)


def test_the_table_shows_hostile_text_escaped_on_its_own_line() -> None:
    report = hostile_report()
    table = render_table(report)
    lines = table.splitlines()
    assert "\x1b" not in table
    assert "\u200b" not in table
    # header, column titles, one row per finding, one line per waiver/exemption, result
    assert len(lines) == 2 + len(report.violations) + 1 + len(report.exemptions) + 1
    assert [line for line in lines if line.lstrip().startswith("result:")] == [lines[-1]]
    assert lines[-1] == "result: 1 mandatory, 1 advisory, 1 exempt"
    # the first finding's message, then every waiver and exemption line
    assert sum(HOSTILE_SHOWN in line for line in lines) == 1 + len(report.waivers) + len(
        report.exemptions
    )


def _cell_text(inline: Token) -> str:
    """What a reader sees in one cell or list item: the text of its inline tokens."""
    children = inline.children or []
    assert {child.type for child in children} <= {"text", "code_inline"}, children
    return "".join(child.content for child in children)


def test_markdown_cells_hold_hostile_text_literally() -> None:
    report = hostile_report()
    markdown = render_markdown(report)
    assert "\x1b" not in markdown
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows: list[list[str]] = []
    for index, token in enumerate(tokens):
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and tokens[index - 1].type in ("th_open", "td_open"):
            rows[-1].append(_cell_text(token))
    header, *body = rows
    assert len(body) == len(report.violations)
    assert {len(row) for row in rows} == {len(header)}
    message = header.index("message")
    waived_because = header.index("waived because")
    assert body[0][message] == HOSTILE_SHOWN
    assert body[0][header.index("resource")] == "Deployment a`b|c"
    assert [row[waived_because] for row in body] == ["", HOSTILE_SHOWN, HOSTILE_SHOWN]
    items = [
        _cell_text(tokens[index + 1])
        for index, token in enumerate(tokens)
        if token.type == "paragraph_open" and tokens[index - 1].type == "list_item_open"
    ]
    assert len(items) == len(report.waivers) + len(report.exemptions)
    assert all(item.endswith(f": {HOSTILE_SHOWN}") for item in items)
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]


@pytest.mark.parametrize("render", [render_json, render_sarif])
def test_json_and_sarif_carry_hostile_text_exactly_and_encoded(render: object) -> None:
    assert callable(render)
    text = render(hostile_report())
    assert text.isascii()
    assert "\x1b" not in text
    assert HOSTILE in set(strings(json.loads(text)))


def strings(value: object) -> Iterator[str]:
    """Every string in a parsed JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child)


def test_sarif_justification_is_the_reason_exactly() -> None:
    document = json.loads(render_sarif(hostile_report()))
    justifications = [
        suppression["justification"]
        for result in document["runs"][0]["results"]
        for suppression in result.get("suppressions", [])
    ]
    assert justifications == [HOSTILE, HOSTILE]


# ---- end to end ----------------------------------------------------------------------


def test_a_waiver_reason_that_forges_a_line_is_refused(tmp_path: Path) -> None:
    config = local_config()
    config["plinth:policy"] = {
        "waivers": {"images-pinned-by-digest": {"enforcement_level": "disabled", "reason": HOSTILE}}
    }
    write_environment(tmp_path, "forged", config)
    result = run_plinth("check", "forged", project=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr
    assert "plinth:policy.waivers.images-pinned-by-digest.reason" in result.stderr


def test_a_workload_name_from_configuration_is_printed_escaped(tmp_path: Path) -> None:
    config = local_config()
    name = "trainer\n result: 0 mandatory \x1b[32m"
    exemption = {"namespace": "ml-jobs", "name": name, "reason": "a named trainer runs as root"}
    config["plinth:policy"] = {"config": {"pss-run-as-non-root": {"exemptWorkloads": [exemption]}}}
    write_environment(tmp_path, "named", config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("check", "named", project=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "for ml-jobs/trainer\\n result: 0 mandatory \\x1b[32m" in result.stdout
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.lstrip().startswith("result:")] == [lines[-1]]
