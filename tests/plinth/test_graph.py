"""`plinth graph`: components, providers and their dependencies, as Mermaid and dot."""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from plinth.cli import main
from plinth.graph import (
    GraphRenderError,
    build_graph,
    label_lines,
    render_dot,
    render_mermaid,
    write_graphs,
)
from tests.conftest import ROOT, SynthesizedEnvironment

STACK = "urn:pulumi:t::plinth::pulumi:pulumi:Stack::plinth-t"
MERMAID_LINE = re.compile(
    r"""
    (?P<indent>\ *)
    (?: flowchart\ LR
      | %%\ .*
      | subgraph\ \w+\ \["[^"]*"\]
      | end
      | \w+ (?: \["[^"]*"\] | \{\{"[^"]*"\}\} )
      | \w+\ (?: --> | -\.-> | ==> ) (?: \|"[^"]*"\| )?\ \w+
      | class\ \w+(?:,\w+)*\ \w+
      | classDef\ \w+\ fill:\#[0-9a-f]{6},stroke:\#[0-9a-f]{6}
    )
    """,
    re.VERBOSE,
)


def entry(type_token: str, name: str, parent: str = STACK, **fields: Any) -> dict[str, Any]:
    """A plan entry as plinth synth writes it; keyword arguments replace fields."""
    prefix = parent.split("::")[2] if parent != STACK else "pulumi:pulumi:Stack"
    values: dict[str, Any] = {
        "urn": f"urn:pulumi:t::plinth::{prefix}${type_token}::{name}",
        "type": type_token,
        "name": name,
        "parent": parent,
        "dependencies": [],
        "provider": "",
    }
    values.update(fields)
    return values


def ancestors(entries: Sequence[Mapping[str, Any]], urn: str) -> list[str]:
    """`urn`, its parent, and so on up to its top-level resource."""
    by_urn = {each["urn"]: each for each in entries}
    chain = [urn]
    while by_urn[chain[-1]]["parent"] in by_urn:
        chain.append(by_urn[chain[-1]]["parent"])
    return chain


def node_id_of(entries: Sequence[Mapping[str, Any]], type_token: str) -> str:
    """The graph node id of the one component of `type_token`."""
    (component,) = [each for each in entries if each["type"] == type_token]
    graph = build_graph(entries)
    (node,) = [
        each for each in graph.nodes if (each.name, each.type) == (component["name"], type_token)
    ]
    return node.node_id


def test_every_component_provider_and_top_level_resource_is_a_node(
    env: SynthesizedEnvironment,
) -> None:
    graph = build_graph(env.entries)
    drawn = {(node.name, node.type) for node in graph.nodes}
    urns = {each["urn"] for each in env.entries}
    expected = {
        (each["name"], each["type"])
        for each in env.entries
        if each["type"].startswith(("plinth:", "pulumi:providers:")) or each["parent"] not in urns
    }
    assert drawn == expected
    assert any(kind.startswith("plinth:") for _, kind in expected)
    declarations = {
        line.strip().split("[")[0].split("{")[0]: line
        for line in render_mermaid(graph).splitlines()
        if line.strip().endswith(('"]', '"}}'))
    }
    for node in graph.nodes:
        assert node.name in declarations[node.node_id]
        assert node.type in declarations[node.node_id]


def test_spark_operator_depends_on_jobs_namespace(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    entries = synthesized["local"].entries
    jobs = next(each["urn"] for each in entries if each["type"] == "plinth:workloads:JobsNamespace")
    spark = next(each["urn"] for each in entries if each["type"] == "plinth:ml:SparkOperator")
    crossing = [
        each
        for each in entries
        if spark in ancestors(entries, each["urn"])
        and any(jobs in ancestors(entries, dependency) for dependency in each["dependencies"])
    ]
    assert crossing, "the plan no longer has a SparkOperator resource depending on JobsNamespace"
    source = node_id_of(entries, "plinth:ml:SparkOperator")
    target = node_id_of(entries, "plinth:workloads:JobsNamespace")
    assert (source, target) in build_graph(entries).edges
    assert f"    {source} --> {target}" in render_mermaid(build_graph(entries)).splitlines()


def test_every_cross_component_dependency_is_an_edge(env: SynthesizedEnvironment) -> None:
    graph = build_graph(env.entries)
    ids = {(node.name, node.type): node.node_id for node in graph.nodes}
    by_urn = {each["urn"]: each for each in env.entries}

    def owner(urn: str) -> str:
        """The innermost component or provider holding `urn` (or `urn` itself)."""
        keys = [
            (by_urn[each]["name"], by_urn[each]["type"]) for each in ancestors(env.entries, urn)
        ]
        return next(ids[key] for key in keys if key in ids)

    expected = {
        (owner(each["urn"]), owner(dependency))
        for each in env.entries
        for dependency in each["dependencies"]
        if owner(each["urn"]) != owner(dependency)
    }
    assert expected <= set(graph.edges)


def test_output_is_byte_identical_whatever_the_entry_order(
    env: SynthesizedEnvironment, tmp_path: Path
) -> None:
    first = write_graphs(tmp_path / "first", env.entries)
    second = write_graphs(tmp_path / "second", list(reversed(env.entries)))
    assert [path.name for path in first] == [path.name for path in second]
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes()


def test_mermaid_lines_are_flowchart_statements(
    env: SynthesizedEnvironment, tmp_path: Path
) -> None:
    write_graphs(tmp_path, env.entries)
    lines = (tmp_path / "graph.mmd").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines:
        assert MERMAID_LINE.fullmatch(line), f"not a flowchart statement: {line!r}"
    depth = 0
    for line in lines:
        depth += line.strip().startswith("subgraph ") - (line.strip() == "end")
        assert depth >= 0
    assert depth == 0


def tiny_plan() -> list[dict[str, Any]]:
    """A platform component holding a nested one, a plain component and a provider."""
    provider = entry("pulumi:providers:kubernetes", "k8s")
    platform = entry("plinth:core:Platform", "t-platform")
    nested = entry("plinth:core:Store", "t.store", parent=platform["urn"])
    other = entry("plinth:ml:Job", "t-job")
    uses = f"{provider['urn']}::k8s-id"
    bucket = entry("kubernetes:core/v1:Secret", "bucket", parent=nested["urn"], provider=uses)
    config = entry("kubernetes:core/v1:ConfigMap", "cfg", parent=platform["urn"], provider=uses)
    job = entry(
        "kubernetes:batch/v1:Job",
        "job",
        parent=other["urn"],
        provider=uses,
        dependencies=[bucket["urn"], config["urn"]],
    )
    return [provider, platform, nested, other, bucket, config, job]


def test_tiny_plan_nodes_boxes_counts_and_edges() -> None:
    graph = build_graph(tiny_plan())
    nodes = {node.node_id: node for node in graph.nodes}
    assert sorted(nodes) == ["c_t_job", "c_t_platform", "c_t_store", "p_k8s"]
    assert nodes["c_t_store"].box == "c_t_platform"
    assert nodes["c_t_platform"].count == 3  # the nested store, its secret, the config map
    assert nodes["c_t_store"].count == 1
    assert nodes["p_k8s"].count == 3
    assert graph.edges == (
        ("c_t_job", "c_t_platform"),
        ("c_t_job", "c_t_store"),
        ("c_t_job", "p_k8s"),
        ("c_t_platform", "p_k8s"),
        ("c_t_store", "p_k8s"),
    )
    mermaid = render_mermaid(graph).splitlines()
    assert '    subgraph s_c_t_platform ["t-platform"]' in mermaid
    assert "    c_t_job -.-> p_k8s" in mermaid
    assert "    c_t_job --> c_t_store" in mermaid


def test_tiny_plan_dot_has_a_cluster_and_dashed_provider_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-dot-here"))
    paths = write_graphs(tmp_path, tiny_plan())
    assert [path.name for path in paths] == ["graph.mmd", "graph.dot"]  # no dot, no svg
    dot = (tmp_path / "graph.dot").read_text(encoding="utf-8")
    assert 'subgraph "cluster_c_t_platform" {' in dot
    assert '"c_t_job" -> "p_k8s" [style=dashed];' in dot
    assert '"c_t_job" -> "c_t_store";' in dot


def test_names_that_sanitize_alike_get_distinct_ids() -> None:
    plan = [
        entry("plinth:a:One", "x-y"),
        entry("plinth:a:Two", "x.y"),
        entry("plinth:a:One", "end"),
    ]
    ids = [node.node_id for node in build_graph(plan).nodes]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", each) for each in ids)
    assert "c_end" in ids  # prefixed, so never the Mermaid keyword


def test_labels_escape_quotes() -> None:
    mermaid = render_mermaid(build_graph([entry("plinth:a:One", 'say "hi" <b>')]))
    assert '"hi"' not in mermaid
    assert "#quot;hi#quot;" in mermaid


def test_no_two_nodes_share_a_label(env: SynthesizedEnvironment) -> None:
    graph = build_graph(env.entries)
    labels = [label_lines(node) for node in graph.nodes]
    assert len(set(labels)) == len(labels)
    declared = [line.strip().split("[", 1)[-1] for line in node_lines(render_mermaid(graph))]
    assert len(set(declared)) == len(declared)


def node_lines(mermaid: str) -> list[str]:
    """The declarations of the graph's own nodes (not the legend's)."""
    return [line for line in mermaid.splitlines() if re.match(r"\s*[cp]_\w+(\[|\{\{)", line)]


def twins_plan() -> list[dict[str, Any]]:
    """Two components that each make a role named `role`, and two parents named `twin`
    (of two types) that each make a role named `shared`."""
    one = entry("plinth:a:Trainer", "one")
    two = entry("plinth:a:Server", "two")
    twin_a = entry("plinth:a:Trainer", "twin")
    twin_b = entry("plinth:a:Server", "twin")
    roles = [entry("plinth:aws:WorkloadRole", "role", parent=p["urn"]) for p in (one, two)]
    shared = [entry("plinth:aws:WorkloadRole", "shared", parent=p["urn"]) for p in (twin_a, twin_b)]
    return [one, two, twin_a, twin_b, *roles, *shared]


def test_nodes_of_one_name_and_type_say_where_they_are() -> None:
    graph = build_graph(twins_plan())
    places = {(node.name, node.place) for node in graph.nodes if node.name in ("role", "shared")}
    assert {place for name, place in places if name == "role"} == {"in one", "in two"}
    shared = sorted(place for name, place in places if name == "shared")
    assert len(set(shared)) == 2
    assert all(place.startswith("as ") for place in shared)  # the parents' names match too
    labels = [label_lines(node) for node in graph.nodes]
    assert len(set(labels)) == len(labels)
    unique = [node for node in graph.nodes if node.name in ("one", "two")]
    assert all(not node.place for node in unique)


def mermaid_legend(mermaid: str) -> list[str]:
    lines = mermaid.splitlines()
    start = lines.index('    subgraph legend ["Legend"]')
    return lines[start : lines.index("    end", start) + 1]


def test_the_mermaid_legend_explains_every_shape_colour_and_edge(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    graph = build_graph(synthesized["prod"].entries)
    mermaid = render_mermaid(graph)
    legend = mermaid_legend(mermaid)
    classes = {
        kind: set(ids.split(","))
        for ids, kind in re.findall(r"^    class (\S+) (\w+)$", mermaid, re.MULTILINE)
    }
    fills = dict(re.findall(r"^    classDef (\w+) fill:(#\w+)", mermaid, re.MULTILINE))
    shapes: dict[str, set[str]] = {}
    for line in legend:
        declared = re.match(r"\s*(legend_\w+)(\[\"|\{\{\")", line)
        if declared:
            (kind,) = [k for k, ids in classes.items() if declared[1] in ids]
            shapes.setdefault(kind, set()).add(declared[2])
    assert set(shapes) == set(fills) == set(classes) == {"component", "provider"}
    assert fills["component"] != fills["provider"]
    assert shapes["component"] != shapes["provider"]
    for node in graph.nodes:
        kind = "provider" if node.provider else "component"
        assert node.node_id in classes[kind]
        (shape,) = [
            declared[1]
            for each in node_lines(mermaid)
            if (declared := re.match(rf'\s*{node.node_id}(\["|\{{\{{")', each))
        ]
        assert shape in shapes[kind]
    edges = re.findall(
        r'^    [cp]_\w+ (-->|-\.->|==>)(?:\|"[^"]*"\|)? [cp]_\w+$', mermaid, re.MULTILINE
    )
    explained = dict(
        re.findall(r'^        legend_\w+ (\S+)\|"([^"]+)"\| \w+$', "\n".join(legend), re.M)
    )
    assert set(edges) == set(explained) == {"-->", "-.->", "==>"}
    assert all(explained.values())
    assert any(line.strip().startswith("subgraph legend_box") for line in legend)


def test_the_dot_legend_explains_every_shape_colour_and_edge(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    graph = build_graph(synthesized["prod"].entries)
    dot = render_dot(graph)
    start = dot.index('subgraph "cluster_legend" {')
    body, legend = dot[:start], dot[start:]
    node = re.compile(r'"(\w+)" \[label="[^"]*", shape=(\w+), style=filled, fillcolor="(#\w+)"')
    looks = {name: (shape, fill) for name, shape, fill in node.findall(legend)}
    kinds = {"component": looks["legend_component"], "provider": looks["legend_provider"]}
    assert kinds["component"] != kinds["provider"]
    drawn = {name: (shape, fill) for name, shape, fill in node.findall(body)}
    for each in graph.nodes:
        assert drawn[each.node_id] == kinds["provider" if each.provider else "component"]
    styles = set(re.findall(r'^    "\w+" -> "\w+"( \[style=\w+\])?;$', body, re.MULTILINE))
    explained = re.findall(
        r'"legend_\w+" -> "legend_\w+" \[label="([^"]+)"(, style=\w+)?\]', legend
    )
    assert (
        {style.strip(" []") for style in styles}
        == {style.lstrip(", ") for _, style in explained}
        == {"", "style=dashed"}
    )
    assert "cluster_legend_box" in legend


def fake_dot(bin_dir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put an executable `dot` running `script` (POSIX sh) first and alone on PATH."""
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_svg_is_rendered_when_dot_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path / "bin", 'printf "<svg/>" > "$3"', monkeypatch)
    paths = write_graphs(tmp_path / "out", tiny_plan())
    assert [path.name for path in paths] == ["graph.mmd", "graph.dot", "graph.svg"]
    assert (tmp_path / "out" / "graph.svg").read_text(encoding="utf-8") == "<svg/>"


def test_a_failing_dot_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path / "bin", 'echo "syntax error in line 3" >&2; exit 1', monkeypatch)
    with pytest.raises(GraphRenderError, match=r"exit 1.*syntax error in line 3"):
        write_graphs(tmp_path / "out", tiny_plan())


def test_cli_writes_the_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    assert main(["graph", "local", "--out", str(tmp_path / "local")]) == 0
    mermaid = (tmp_path / "local" / "graph.mmd").read_text(encoding="utf-8")
    assert mermaid.startswith("flowchart LR\n")
    assert (tmp_path / "local" / "plan.json").is_file()
