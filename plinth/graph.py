"""`plinth graph`: a picture of one environment, drawn from its synthesized plan.

Nodes are the Plinth components (type `plinth:*`) and the providers (`pulumi:providers:*`).
Every other resource belongs to its innermost enclosing component. A component that holds
other components (or a provider) is drawn as a box (a Mermaid subgraph, a Graphviz cluster)
around its own node and theirs, so every edge joins two nodes in both formats.

Edges: `A --> B` when a resource of A depends on a resource of B (drawn once, A != B);
`A -.-> P`, dashed, when resources of A use provider P or depend on it; `A ==> B`, bold
and labelled, for run-time traffic read from the Kubernetes objects (`plinth/traffic.py`):
A's Prometheus scrapes B's Services or pods, or A's gateway routes requests to B's
Services. A node's label gives its name, its type, and for a component the number of
resources inside it (every descendant, not counting the component itself, so one less
than `plinth synth` prints, which counts the component too); for a provider, how many
resources use it. Two nodes never share a label: nodes of one name and type (a role each
of two components makes) also say where they are, `in` their ancestors' names, or, should
those match too, `as` their URN's type chain, which Pulumi keeps unique. Resources outside
every component are not drawn.

Both files draw a legend from the same table the nodes and edges are drawn from
(`NODE_STYLES`, `EDGE_STYLES`): each node kind's shape and colours and what its label
says, what a box is, and each edge kind.

Files: `graph.mmd` (Mermaid `flowchart LR`), `graph.dot` (Graphviz) and, when Graphviz's
`dot` is on PATH, `graph.svg`, beside the plan in an output directory of Plinth's
(`plinth/output.py`): a later `plinth synth` keeps them. The same plan gives
byte-identical files: nodes, boxes and edges are sorted, and node ids derive from names.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plinth.engine import provider_urn, split_urn
from plinth.output import STAGING_PREFIX, output_directory, replace_file
from plinth.traffic import ROUTES, SCRAPES, traffic_edges

COMPONENT_PREFIX = "plinth:"
PROVIDER_PREFIX = "pulumi:providers:"
DOT_TIMEOUT_S = 60
DOT_ATTRIBUTES = (
    "    rankdir=LR;",
    '    graph [fontname="Helvetica"];',
    '    node [shape=box, fontname="Helvetica"];',
)


@dataclass(frozen=True)
class NodeStyle:
    """How one kind of node is drawn, and what the legend says of it."""

    kind: str
    mermaid_shape: tuple[str, str]  # the brackets around a Mermaid node's label
    dot_shape: str
    fill: str
    stroke: str
    legend: tuple[str, ...]  # the legend node's label lines


@dataclass(frozen=True)
class EdgeStyle:
    """How one kind of edge is drawn, and what the legend says of it."""

    to_provider: bool
    mermaid_arrow: str
    dot_style: str
    legend: str


# Keyed by whether the node is a provider.
NODE_STYLES = {
    False: NodeStyle(
        "component",
        ('["', '"]'),
        "box",
        "#dbeafe",
        "#1e40af",
        ("Plinth component", "its name", "its type", "resources inside it"),
    ),
    True: NodeStyle(
        "provider",
        ('{{"', '"}}'),
        "hexagon",
        "#fef3c7",
        "#92400e",
        ("provider", "its name", "its type", "resources that use it"),
    ),
}
# Keyed by whether the edge goes to a provider.
EDGE_STYLES = {
    False: EdgeStyle(False, "-->", "solid", "depends on: a resource here needs one there"),
    True: EdgeStyle(True, "-.->", "dashed", "uses provider: its resources are made through it"),
}
# Run-time traffic, keyed by kind: Mermaid arrow, dot colour, legend.
TRAFFIC_STYLES = {
    SCRAPES: ("==>", "#15803d", "scrapes: its Prometheus scrapes metrics there"),
    ROUTES: ("==>", "#7c3aed", "routes: its gateway sends requests there"),
}
LEGEND_BOX = "box: a component with the components and providers it holds"
LEGEND_HELD = (
    "a component it holds",
    "a line 'in ...' or 'as ...' says where",
    "a node is when two share name and type",
)


ByUrn = Mapping[str, Mapping[str, Any]]
"""Plan entries keyed by URN."""


class GraphRenderError(RuntimeError):
    """Graphviz's `dot` failed or timed out while rendering graph.svg."""


@dataclass(frozen=True)
class Node:
    """A component or provider as drawn: `box` is the id of the node whose box holds it."""

    node_id: str
    name: str
    type: str
    count: int
    provider: bool
    box: str | None
    place: str = ""  # tells apart nodes of one name and type; empty when the pair is unique


@dataclass(frozen=True)
class Graph:
    """Nodes sorted by id, edges as sorted (source id, target id) pairs."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    traffic: tuple[tuple[str, str, str], ...] = ()
    """(source id, target id, kind) of run-time traffic between components, sorted."""

    def children(self, box: str | None) -> list[Node]:
        """Nodes drawn directly inside `box` (None: at the top level)."""
        return [node for node in self.nodes if node.box == box]

    def provider_ids(self) -> set[str]:
        return {node.node_id for node in self.nodes if node.provider}


def write_graphs(out_dir: Path, entries: Sequence[Mapping[str, Any]]) -> list[Path]:
    """Write graph.mmd, graph.dot (and graph.svg if `dot` exists) into `out_dir`, which
    must be Plinth's (`plinth/output.py`); each file replaces its old self by a rename."""
    graph = build_graph(entries)
    with output_directory(out_dir) as target:
        mermaid = target / "graph.mmd"
        replace_file(mermaid, render_mermaid(graph))
        dot = target / "graph.dot"
        replace_file(dot, render_dot(graph))
        svg = render_svg(dot)
        if svg is None:
            # An SVG from an earlier run with Graphviz would show an older plan.
            (target / "graph.svg").unlink(missing_ok=True)
            return [mermaid, dot]
        return [mermaid, dot, svg]


def build_graph(entries: Sequence[Mapping[str, Any]]) -> Graph:
    """The components, providers, resources outside any component (an Azure resource
    group) and the aggregated edges of a plan."""
    by_urn = {entry["urn"]: entry for entry in entries}
    node_urns = sorted(
        urn
        for urn, entry in by_urn.items()
        if _is_node(entry["type"]) or entry["parent"] not in by_urn
    )
    ids = node_ids(by_urn, node_urns)
    owner = {urn: _owner(by_urn, ids, urn) for urn in by_urn}
    counts = _counts(by_urn, ids)
    places = _places(by_urn, node_urns)
    nodes = [
        Node(
            node_id=ids[urn],
            name=by_urn[urn]["name"],
            type=by_urn[urn]["type"],
            count=counts[urn],
            provider=by_urn[urn]["type"].startswith(PROVIDER_PREFIX),
            box=_box_of(by_urn, ids, urn),
            place=places.get(urn, ""),
        )
        for urn in node_urns
    ]
    return Graph(
        nodes=tuple(sorted(nodes, key=lambda node: node.node_id)),
        edges=tuple(sorted(_edges(entries, owner, ids))),
        traffic=tuple(sorted(_traffic(entries, owner))),
    )


def _traffic(
    entries: Sequence[Mapping[str, Any]], owner: Mapping[str, str | None]
) -> set[tuple[str, str, str]]:
    """Run-time traffic between the components that own each end (A != B)."""
    found = set()
    for source, target, kind in traffic_edges(entries):
        ends = owner.get(source), owner.get(target)
        if ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
            found.add((ends[0], ends[1], kind))
    return found


def node_ids(by_urn: ByUrn, node_urns: Sequence[str]) -> dict[str, str]:
    """URN -> id: `c_` (component) or `p_` (provider) + the name in [A-Za-z0-9_].

    Names that sanitize alike (`a-b`, `a.b`) or repeat across types get a suffix from a
    hash of their URN, which no entry order can change.
    """
    bases = {urn: _base_id(by_urn[urn]) for urn in node_urns}
    taken = Counter(bases.values())
    return {
        urn: base if taken[base] == 1 else f"{base}_{hashlib.sha256(urn.encode()).hexdigest()[:8]}"
        for urn, base in bases.items()
    }


def _places(by_urn: ByUrn, node_urns: Sequence[str]) -> dict[str, str]:
    """URN -> where the node is, for nodes that share their name and type with another:
    `in` the names of its ancestors, or `as` its URN's type chain when those match too
    (Pulumi refuses two URNs alike, so one name and type means another parent type)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for urn in node_urns:
        groups.setdefault((by_urn[urn]["name"], by_urn[urn]["type"]), []).append(urn)
    places: dict[str, str] = {}
    for urns in groups.values():
        if len(urns) == 1:
            continue
        chains = {
            urn: " / ".join(by_urn[each]["name"] for each in reversed(_ancestors(by_urn, urn)))
            for urn in urns
        }
        if len(set(chains.values())) == len(urns):
            places.update({urn: f"in {chain or 'the stack'}" for urn, chain in chains.items()})
        else:
            places.update({urn: f"as {split_urn(urn)[2]}" for urn in urns})
    return places


def _base_id(entry: Mapping[str, Any]) -> str:
    prefix = "p_" if entry["type"].startswith(PROVIDER_PREFIX) else "c_"
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", entry["name"])


def _is_node(type_token: str) -> bool:
    return type_token.startswith((COMPONENT_PREFIX, PROVIDER_PREFIX))


def _ancestors(by_urn: ByUrn, urn: str) -> list[str]:
    """Parents of `urn` from the nearest up, as far as the plan goes (the Stack is not in it)."""
    chain = []
    parent = by_urn[urn]["parent"]
    while parent in by_urn:
        chain.append(parent)
        parent = by_urn[parent]["parent"]
    return chain


def _owner(by_urn: ByUrn, ids: Mapping[str, str], urn: str) -> str | None:
    """Id of the node `urn` is drawn as or in: itself if a node, else its innermost component."""
    return next((ids[each] for each in (urn, *_ancestors(by_urn, urn)) if each in ids), None)


def _box_of(by_urn: ByUrn, ids: Mapping[str, str], urn: str) -> str | None:
    return next((ids[each] for each in _ancestors(by_urn, urn) if each in ids), None)


def _counts(by_urn: ByUrn, ids: Mapping[str, str]) -> Counter[str]:
    """Node URN -> resources inside it (components) or using it (providers)."""
    counts: Counter[str] = Counter()
    for urn, entry in by_urn.items():
        counts.update(each for each in _ancestors(by_urn, urn) if each in ids)
        if entry["provider"]:
            counts[provider_urn(entry["provider"])] += 1
    return counts


def _edges(
    entries: Sequence[Mapping[str, Any]], owner: Mapping[str, str | None], ids: Mapping[str, str]
) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for entry in entries:
        source = owner[entry["urn"]]
        targets = {owner.get(dependency) for dependency in entry["dependencies"]}
        if entry["provider"]:
            targets.add(ids.get(provider_urn(entry["provider"])))
        if source is not None:
            edges.update((source, each) for each in targets if each is not None and each != source)
    return edges


def render_mermaid(graph: Graph) -> str:
    """The graph as a Mermaid flowchart, left to right, with its legend."""
    providers = graph.provider_ids()
    lines = ["flowchart LR"]
    lines += _mermaid_nodes(graph, None, "    ")
    lines += [
        f"    {source} {EDGE_STYLES[target in providers].mermaid_arrow} {target}"
        for source, target in graph.edges
    ]
    lines += [
        f'    {source} {TRAFFIC_STYLES[kind][0]}|"{kind}"| {target}'
        for source, target, kind in graph.traffic
    ]
    lines += _mermaid_legend()
    for provider, style in NODE_STYLES.items():
        ids = [f"legend_{style.kind}", *(["legend_held"] if not provider else [])]
        ids += [node.node_id for node in graph.nodes if node.provider == provider]
        lines.append(f"    class {','.join(ids)} {style.kind}")
    lines += [
        f"    classDef {style.kind} fill:{style.fill},stroke:{style.stroke}"
        for style in NODE_STYLES.values()
    ]
    return "\n".join(lines) + "\n"


def _mermaid_legend() -> list[str]:
    component, provider = NODE_STYLES[False], NODE_STYLES[True]
    lines = ['    subgraph legend ["Legend"]']
    lines += [
        f"        {_mermaid_shape(f'legend_{s.kind}', s, s.legend)}" for s in (component, provider)
    ]
    lines += [
        f'        subgraph legend_box ["{_mermaid_text(LEGEND_BOX)}"]',
        f"            {_mermaid_shape('legend_held', component, LEGEND_HELD)}",
        "        end",
    ]
    targets = {False: "legend_held", True: f"legend_{provider.kind}"}
    lines += [
        f'        legend_{component.kind} {edge.mermaid_arrow}|"{_mermaid_text(edge.legend)}"| '
        f"{targets[edge.to_provider]}"
        for edge in EDGE_STYLES.values()
    ]
    lines += [
        f'        legend_{component.kind} {arrow}|"{_mermaid_text(legend)}"| legend_held'
        for arrow, _, legend in TRAFFIC_STYLES.values()
    ]
    return [*lines, "    end"]


def _mermaid_nodes(graph: Graph, box: str | None, indent: str) -> list[str]:
    return _nested(
        graph,
        box,
        indent,
        declare=lambda node: _mermaid_shape(
            node.node_id, NODE_STYLES[node.provider], label_lines(node)
        ),
        open_box=lambda node: [f'subgraph s_{node.node_id} ["{_mermaid_text(node.name)}"]'],
        close_box="end",
    )


def _mermaid_shape(node_id: str, style: NodeStyle, lines: Sequence[str]) -> str:
    opening, closing = style.mermaid_shape
    label = "<br/>".join(_mermaid_text(line) for line in lines)
    return f"{node_id}{opening}{label}{closing}"


def _mermaid_text(text: str) -> str:
    return (
        text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def label_lines(node: Node) -> tuple[str, ...]:
    """What a node's label says, line by line: no two nodes of a graph say the same."""
    resources = f"{node.count} resource{'' if node.count == 1 else 's'}"
    place = (node.place,) if node.place else ()
    return node.name, node.type, *place, f"used by {resources}" if node.provider else resources


def render_dot(graph: Graph) -> str:
    """The graph in Graphviz's dot language, left to right, with its legend."""
    providers = graph.provider_ids()
    lines = ["digraph plinth {", *DOT_ATTRIBUTES]
    lines += _dot_nodes(graph, None, "    ")
    lines += [
        f'    "{source}" -> "{target}"{_dot_edge(EDGE_STYLES[target in providers])};'
        for source, target in graph.edges
    ]
    lines += [
        f'    "{source}" -> "{target}"{_dot_traffic(kind, kind)};'
        for source, target, kind in graph.traffic
    ]
    lines += _dot_legend()
    return "\n".join([*lines, "}"]) + "\n"


def _dot_edge(edge: EdgeStyle, label: str = "") -> str:
    attributes = [f'label="{_dot_text(label)}"'] if label else []
    if edge.dot_style != "solid":
        attributes.append(f"style={edge.dot_style}")
    return f" [{', '.join(attributes)}]" if attributes else ""


def _dot_traffic(kind: str, label: str) -> str:
    _, colour, _ = TRAFFIC_STYLES[kind]
    return f' [label="{_dot_text(label)}", style=bold, color="{colour}"]'


def _dot_legend() -> list[str]:
    component, provider = NODE_STYLES[False], NODE_STYLES[True]
    lines = ['    subgraph "cluster_legend" {', '        label="Legend";']
    lines += [
        f"        {_dot_shape(f'legend_{s.kind}', s, s.legend)}" for s in (component, provider)
    ]
    lines += [
        '        subgraph "cluster_legend_box" {',
        f'            label="{_dot_text(LEGEND_BOX)}";',
        f"            {_dot_shape('legend_held', component, LEGEND_HELD)}",
        "        }",
    ]
    targets = {False: "legend_held", True: f"legend_{provider.kind}"}
    lines += [
        f'        "legend_{component.kind}" -> "{targets[edge.to_provider]}"'
        f"{_dot_edge(edge, edge.legend)};"
        for edge in EDGE_STYLES.values()
    ]
    lines += [
        f'        "legend_{component.kind}" -> "legend_held"{_dot_traffic(kind, legend)};'
        for kind, (_, _, legend) in TRAFFIC_STYLES.items()
    ]
    return [*lines, "    }"]


def _dot_nodes(graph: Graph, box: str | None, indent: str) -> list[str]:
    return _nested(
        graph,
        box,
        indent,
        declare=_dot_node,
        open_box=lambda node: [
            f'subgraph "cluster_{node.node_id}" {{',
            f'    label="{_dot_text(node.name)}";',
        ],
        close_box="}",
    )


def _nested(
    graph: Graph,
    box: str | None,
    indent: str,
    *,
    declare: Callable[[Node], str],
    open_box: Callable[[Node], list[str]],
    close_box: str,
) -> list[str]:
    """Node declarations inside `box`, a node holding others opening a box of its own."""
    lines = []
    for node in graph.children(box):
        if not graph.children(node.node_id):
            lines.append(indent + declare(node))
            continue
        lines += [indent + line for line in open_box(node)]
        lines.append(f"{indent}    {declare(node)}")
        lines += _nested(
            graph,
            node.node_id,
            indent + "    ",
            declare=declare,
            open_box=open_box,
            close_box=close_box,
        )
        lines.append(indent + close_box)
    return lines


def _dot_node(node: Node) -> str:
    return _dot_shape(node.node_id, NODE_STYLES[node.provider], label_lines(node))


def _dot_shape(node_id: str, style: NodeStyle, lines: Sequence[str]) -> str:
    label = r"\n".join(_dot_text(line) for line in lines)
    return (
        f'"{node_id}" [label="{label}", shape={style.dot_shape}, style=filled, '
        f'fillcolor="{style.fill}", color="{style.stroke}"];'
    )


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_svg(dot_file: Path) -> Path | None:
    """Render `dot_file` to SVG beside it with Graphviz, if installed; None if not."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    svg = dot_file.with_suffix(".svg")
    # Rendered beside it under a temporary name, then renamed: never half an SVG.
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=dot_file.parent) as staging:
        rendered = Path(staging) / svg.name
        command = [dot, "-Tsvg", "-o", str(rendered), str(dot_file)]
        try:
            # Fixed argv: the executable found on PATH and paths this module chose.
            result = subprocess.run(  # noqa: S603
                command, capture_output=True, text=True, timeout=DOT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise GraphRenderError(
                f"{dot} took over {DOT_TIMEOUT_S} s rendering {dot_file}"
            ) from None
        if result.returncode != 0:
            detail = " ".join(result.stderr.split()) or "no message"
            raise GraphRenderError(
                f"{dot} failed (exit {result.returncode}) rendering {dot_file}: {detail}"
            )
        rendered.replace(svg)
    return svg
