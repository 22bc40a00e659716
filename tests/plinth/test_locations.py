"""Reports point at the line of the environment file that configured a finding's resource,
else at the source of the component that made it (plinth/locations.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pytest
from markdown_it import MarkdownIt

from plinth.check import CheckReport, Violation
from plinth.environments import load_environment
from plinth.locations import ComponentIndex, config_key, key_lines, locate, model_places
from plinth.report import render_markdown, render_sarif
from plinth.synth import synthesize
from policies.registry import RULES
from tests.conftest import ROOT
from tests.plinth.test_cli import run_plinth, write_environment

PROD = ROOT / "environments" / "Pulumi.prod.yaml"


@pytest.fixture(scope="module")
def prod_entries(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
        _, entries = synthesize("prod", tmp_path_factory.mktemp("prod"))
    return entries


def line_of(path: Path, *keys: str) -> int:
    """The line of the key path `keys` in a YAML file, found by reading it as text: each
    key is the first line after the previous one that starts, indented, with `key:`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = 0
    for key in keys:
        number += next(
            index
            for index, line in enumerate(lines[number:], start=1)
            if re.match(rf"\s*{re.escape(key)}:", line)
        )
    return number


def one(entries: Sequence[Mapping[str, Any]], type_token: str, name: str) -> str:
    (urn,) = [e["urn"] for e in entries if e["type"] == type_token and e["name"] == name]
    return str(urn)


def report_on(urns: Sequence[str], entries: Sequence[Mapping[str, Any]]) -> CheckReport:
    """A prod report with one advisory finding on each of `urns`, located as check does."""
    violations = tuple(
        Violation("advisory", "images-pinned-by-digest", urn, "", f"finding {i}", "medium")
        for i, urn in enumerate(urns)
    )
    return CheckReport(
        environment="prod",
        tier="prod",
        config_source="policies/config/prod.json",
        rules=RULES,
        violations=violations,
        resources=len(entries),
        locations=locate(ROOT, load_environment(ROOT, "prod"), entries, set(urns)),
    )


def sarif_regions(report: CheckReport) -> dict[str, tuple[str, int, list[str]]]:
    """Finding message -> (file, start line, the config keys named) of each SARIF result."""
    document = json.loads(render_sarif(report))
    found = {}
    for result in document["runs"][0]["results"]:
        (where,) = result["locations"]
        physical = where["physicalLocation"]
        keys = [
            each["fullyQualifiedName"]
            for each in where.get("logicalLocations", [])
            if each["kind"] == "property"
        ]
        found[result["message"]["text"].split(": ", 1)[1]] = (
            physical["artifactLocation"]["uri"],
            physical["region"]["startLine"],
            keys,
        )
    return found


def test_a_sarif_result_points_at_the_line_of_the_config_key(
    prod_entries: list[dict[str, Any]],
) -> None:
    template = one(prod_entries, "aws:ec2/launchTemplate:LaunchTemplate", "prod-nodes-a10g")
    tag = one(
        prod_entries,
        "aws:autoscaling/tag:Tag",
        "prod-nodes-h100-template-label-plinth.io-node-pool",
    )
    quota = one(prod_entries, "kubernetes:core/v1:ResourceQuota", "prod-jobs-quota")
    namespace = one(prod_entries, "kubernetes:core/v1:Namespace", "prod-jobs")
    vpc = one(prod_entries, "aws:ec2/vpc:Vpc", "prod-network")
    regions = sarif_regions(report_on([template, tag, quota, namespace, vpc], prod_entries))
    source = "environments/Pulumi.prod.yaml"
    assert regions["finding 0"] == (
        source,
        line_of(PROD, "plinth:node_pools", "a10g"),
        ["plinth:node_pools.a10g"],
    )
    assert regions["finding 1"] == (
        source,
        line_of(PROD, "plinth:node_pools", "h100"),
        ["plinth:node_pools.h100"],
    )
    assert regions["finding 2"] == (
        source,
        line_of(PROD, "plinth:jobs", "quota"),
        ["plinth:jobs.quota"],
    )
    # the namespace is the jobs component's own: its top-level key
    assert regions["finding 3"] == (source, line_of(PROD, "plinth:jobs"), ["plinth:jobs"])
    # the network is configured by plinth:cluster (vpc_cidr is not written: the key's line)
    assert regions["finding 4"] == (source, line_of(PROD, "plinth:cluster"), ["plinth:cluster"])


def test_a_finding_no_written_key_configures_points_at_its_component_class(
    prod_entries: list[dict[str, Any]],
) -> None:
    (spark,) = [e["urn"] for e in prod_entries if e["type"] == "plinth:ml:SparkOperator"]
    (chart,) = [
        e["urn"]
        for e in prod_entries
        if e["parent"] == spark and e["type"] == "kubernetes:helm.sh/v4:Chart"
    ]
    controller = next(e["urn"] for e in prod_entries if e["parent"] == chart)
    assert "plinth:spark_operator" not in PROD.read_text(encoding="utf-8")
    path, line, keys = sarif_regions(report_on([controller], prod_entries))["finding 0"]
    assert keys == []
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    declared = re.match(r"class (\w+)\(", lines[line - 1])
    assert declared, f"{path}:{line} is not a class statement"
    body = "\n".join(lines[line - 1 :])
    assert '"plinth:ml:SparkOperator"' in body.split("\nclass ", 1)[0]


def test_a_resource_outside_every_component_points_at_the_file(
    prod_entries: list[dict[str, Any]],
) -> None:
    provider = one(prod_entries, "pulumi:providers:aws", "prod-aws")
    assert sarif_regions(report_on([provider], prod_entries))["finding 0"] == (
        "environments/Pulumi.prod.yaml",
        1,
        [],
    )


def test_the_markdown_report_says_where_each_finding_was_configured(
    prod_entries: list[dict[str, Any]],
) -> None:
    quota = one(prod_entries, "kubernetes:core/v1:ResourceQuota", "prod-jobs-quota")
    tokens = (
        MarkdownIt("commonmark")
        .enable("table")
        .parse(render_markdown(report_on([quota], prod_entries)))
    )
    cells = [
        "".join(child.content for child in token.children or [])
        for index, token in enumerate(tokens)
        if token.type == "inline" and tokens[index - 1].type in ("th_open", "td_open")
    ]
    header, row = cells[: len(cells) // 2], cells[len(cells) // 2 :]
    where = row[header.index("configured at")]
    line = line_of(PROD, "plinth:jobs", "quota")
    assert where == f"environments/Pulumi.prod.yaml:{line} plinth:jobs.quota"


def test_key_lines_reads_bare_and_namespaced_keys(tmp_path: Path) -> None:
    text = (
        "# a comment\n"
        "config:\n"
        "  tier: dev\n"
        "  aws:region: eu-west-1\n"
        "  plinth:node_pools:\n"
        "    # the GPU pool\n"
        "    gpu:\n"
        "      max_size: 2\n"
    )
    write_environment(tmp_path, "lines", text)
    path = tmp_path / "environments" / "Pulumi.lines.yaml"
    lines = key_lines(path, "environments/Pulumi.lines.yaml")
    assert lines == {
        ("tier",): line_of(path, "tier"),
        ("node_pools",): line_of(path, "plinth:node_pools"),
        ("node_pools", "gpu"): line_of(path, "plinth:node_pools", "gpu"),
        ("node_pools", "gpu", "max_size"): line_of(path, "plinth:node_pools", "gpu", "max_size"),
    }


def test_every_top_level_component_has_a_config_key(prod_entries: list[dict[str, Any]]) -> None:
    urns = {e["urn"] for e in prod_entries}
    top = [e for e in prod_entries if e["type"].startswith("plinth:") and e["parent"] not in urns]
    assert len(top) > 5
    components = ComponentIndex({str(e["type"]) for e in top})
    places = {path for paths in model_places().values() for path in paths}
    for entry in top:
        cls = components.get(entry["type"])
        assert cls is not None, entry["type"]
        key = config_key(cls)
        assert key in places, f"{entry['type']}: {key}"


class _Declared(pulumi.ComponentResource):
    """A component that states its config key."""

    CONFIG_KEY = "jobs.quota"

    def __init__(self, name: str) -> None:
        super().__init__("plinth:test:Declared", name, None, None)


def test_a_declared_config_key_wins() -> None:
    cls = ComponentIndex({"plinth:test:Declared"}).get("plinth:test:Declared")
    assert cls is _Declared
    assert config_key(cls) == ("jobs", "quota")


def sarif_locations(document: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Resource URN -> (file, start line) of each result of a SARIF document."""
    found = {}
    for result in document["runs"][0]["results"]:
        (where,) = result["locations"]
        logical = where.get("logicalLocations", [])
        (urn,) = [each["fullyQualifiedName"] for each in logical if each["kind"] == "resource"]
        physical = where["physicalLocation"]
        found[urn] = (physical["artifactLocation"]["uri"], physical["region"]["startLine"])
    return found


def test_a_plan_read_from_a_file_is_located_like_a_fresh_one(tmp_path: Path) -> None:
    # A process that reads --plan never runs the program: the component classes are found
    # from their modules' text instead of among the loaded ones.
    assert run_plinth("synth", "onprem", "--out", str(tmp_path), project=ROOT).returncode == 0
    documents = []
    for extra in (["--plan", str(tmp_path / "plan.json")], []):
        output = tmp_path / f"onprem{len(extra)}.sarif"
        result = run_plinth(
            "check", "onprem", *extra, "--format", "sarif", "--output", str(output), project=ROOT
        )
        assert result.returncode == 0, result.stderr
        documents.append(json.loads(output.read_text(encoding="utf-8")))
    from_plan, fresh = (sarif_locations(document) for document in documents)
    assert from_plan == fresh
    assert any(not path.startswith("environments/") for path, _ in fresh.values())
