"""Writing a plan to disk and summarising it.

`DIR/plan.json` lists every resource (sorted by URN) with its inputs and options;
`DIR/manifests/<namespace>/<kind>-<name>.yaml` holds each Kubernetes object (cluster-scoped
objects under `_cluster/`). Everything is written in a canonical form (keys sorted,
integers whole) so that the same environment gives byte-identical files. Both are built in
a staging folder inside DIR and renamed into place at the end (manifests/ first, plan.json
last): a failed run leaves the last plan intact, and the other files in DIR (the graph,
anything else) are left alone. Which directories Plinth may write: `plinth/output.py`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml writes the large CRDs of a plan many times faster than pure Python
    from yaml import CSafeDumper as SafeDumper
except ImportError:  # pragma: no cover (PyYAML built without libyaml)
    from yaml import SafeDumper  # type: ignore[assignment]

from plinth.cache import derived
from plinth.chart_sources import resolve_source
from plinth.engine import kubernetes_objects
from plinth.output import STAGING_PREFIX, output_directory
from plinth.upstream import upstream_dir
from stacks.config import ConfigError

PLAN_VERSION = 1
HEAD_KEYS = ("apiVersion", "kind", "metadata")
RESOURCES_MARK = "<plinth: resources go here>"
# What a plan is synthesized from, besides the environment file: the project's code and
# the upstream data charts are rendered from. Hashing ~100 small files costs milliseconds.
# Every package of the project (pyproject.toml's packages; a test keeps the two equal).
SOURCE_DIRS = ("plinth", "stacks", "targets", "components", "clouds", "addons", "policies")
SOURCE_FILES = ("pyproject.toml", "Pulumi.yaml")


def plan_document(
    environment: str,
    entries: Sequence[Mapping[str, Any]],
    inputs: Mapping[str, str] | None = None,
    *,
    incomplete: str | None = None,
) -> dict[str, Any]:
    """The plan as written to plan.json: the resources, a digest of them, the fingerprint
    of the `inputs` they were synthesized from (see `plan_inputs`), and `incomplete`:
    what the plan lacks, if anything."""
    resources = list(entries)
    document: dict[str, Any] = {
        "plan_version": PLAN_VERSION,
        "environment": environment,
        "inputs": dict(sorted((inputs or {}).items())),
        "resources_sha256": resources_digest(resources),
        "resources": resources,
    }
    if incomplete:
        document["incomplete"] = incomplete
    return document


def plan_inputs(root: Path, environment_file: Path) -> dict[str, str]:
    """sha256 of what a plan of `environment_file` is synthesized from, in `root`.

    The code is hashed from the files themselves, not `git rev-parse`: the work tree may
    hold uncommitted changes. Upstream data is $PLINTH_UPSTREAM_DIR (default
    ../shared/upstream), identified by its MANIFEST.yaml, which lists every file's sha256;
    charts come from the source PLINTH_CHARTS chooses (its kind is recorded; the chart
    versions are pinned in the code).
    """
    manifest = upstream_dir(root) / "MANIFEST.yaml"
    return {
        "chart_source": resolve_source(root).kind,
        "environment_file": hashlib.sha256(environment_file.read_bytes()).hexdigest(),
        "source": _source_digest(root),
        "upstream_manifest": (
            hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else "absent"
        ),
    }


def _source_digest(root: Path) -> str:
    paths = [root / name for name in SOURCE_FILES if (root / name).is_file()]
    for directory in SOURCE_DIRS:
        paths += (root / directory).rglob("*.py")
    digest = hashlib.sha256()
    for path in sorted(paths):
        relative = path.relative_to(root).as_posix()
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        digest.update(f"{relative}\0{content}\n".encode())
    return digest.hexdigest()


def resources_digest(resources: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the resources in a canonical JSON form (keys sorted, no whitespace)."""
    canonical = json.dumps(list(resources), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_plan(out_dir: Path, document: Mapping[str, Any]) -> None:
    """Write plan.json and manifests/ into `out_dir`, replacing only those two."""
    with output_directory(out_dir) as target:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
        try:
            (staging / "plan.json").write_text(plan_text(document), encoding="utf-8")
            # Always a manifests/ folder, so a plan without objects replaces old manifests.
            (staging / "manifests").mkdir()
            for relative, obj in sorted(manifest_files(document["resources"]).items()):
                path = staging / "manifests" / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render_manifest(obj), encoding="utf-8")
            _swap_in(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def plan_text(document: Mapping[str, Any]) -> str:
    """plan.json's text: the document indented, each resource on one line (keys sorted).

    Indented JSON goes through Python's pure encoder, compact JSON through its C one: with
    the rendered CRDs (megabytes) in a plan, one line per resource keeps writing it fast,
    and a diff of two plans still shows which resources changed.
    """
    if not document["resources"]:
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    resources = [
        json.dumps(resource, sort_keys=True, ensure_ascii=False)
        for resource in document["resources"]
    ]
    head = json.dumps(
        {**document, "resources": [RESOURCES_MARK]}, indent=2, sort_keys=True, ensure_ascii=False
    )
    body = ",\n    ".join(resources)
    return head.replace(json.dumps(RESOURCES_MARK), body, 1) + "\n"


def read_plan(
    path: Path, environment: str, inputs: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The entries of a plan.json that `plinth synth` wrote for `environment`.

    With `inputs` (`plan_inputs` now), the plan must be one synthesized from exactly those
    inputs, with its resources unchanged since: a stale, edited or empty plan is refused.
    """
    rerun = f"run plinth synth {environment}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the plan ({error}); {rerun}") from None
    if not isinstance(document, dict) or document.get("environment") != environment:
        raise ConfigError(f"{path}: not a plan of environment {environment!r}; {rerun}")
    if document.get("incomplete"):
        raise ConfigError(
            f"{path}: an incomplete plan ({document['incomplete']}); a review of it would miss "
            f"objects: run plinth synth {environment} where the Helm engine installs"
        )
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise ConfigError(f"{path}: the plan has no resources list; {rerun}")
    if inputs is not None:
        _verify(path, document, resources, inputs, rerun)
    return resources


def _verify(
    path: Path,
    document: Mapping[str, Any],
    resources: list[Any],
    inputs: Mapping[str, str],
    rerun: str,
) -> None:
    recorded = document.get("inputs")
    if not isinstance(recorded, Mapping) or not recorded:
        raise ConfigError(f"{path}: the plan records no input fingerprint; re-{rerun}")
    changed = sorted(
        key for key in set(inputs) | set(recorded) if inputs.get(key) != recorded.get(key)
    )
    if changed:
        raise ConfigError(
            f"{path}: stale plan: {', '.join(changed)} changed since it was synthesized; re-{rerun}"
        )
    if not resources:
        raise ConfigError(f"{path}: the plan has no resources; re-{rerun}")
    if document.get("resources_sha256") != resources_digest(resources):
        raise ConfigError(
            f"{path}: the plan's resources do not match its resources_sha256 (edited "
            f"after synthesis); re-{rerun}"
        )


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Rename staged manifests/ and plan.json into `out_dir`; the old manifests/ goes into
    `staging` (removed with it). plan.json comes last: once it is new, so is the rest."""
    manifests = out_dir / "manifests"
    if manifests.is_symlink() or manifests.exists():
        manifests.rename(staging / "retired-manifests")
    (staging / "manifests").rename(manifests)
    (staging / "plan.json").replace(out_dir / "plan.json")


def manifest_files(entries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Relative file path -> Kubernetes object, for every object in the plan."""
    files: dict[str, dict[str, Any]] = {}
    for obj in kubernetes_objects(entries):
        metadata = obj.get("metadata", {})
        folder = metadata.get("namespace") or "_cluster"
        relative = f"{folder}/{obj['kind'].lower()}-{metadata.get('name', 'unnamed')}.yaml"
        if relative in files:
            group = obj["apiVersion"].split("/")[0].replace(".", "-")
            relative = relative.replace(".yaml", f".{group}.yaml")
        files[relative] = obj
    return files


def render_manifest(obj: Mapping[str, Any]) -> str:
    """One object as YAML: apiVersion, kind, metadata first, then the rest sorted."""
    ordered = {key: obj[key] for key in HEAD_KEYS if key in obj}
    ordered.update({key: obj[key] for key in sorted(obj) if key not in HEAD_KEYS})
    # Objects are mostly the same from run to run, and PyYAML's representer is Python:
    # each object is emitted once, cached by its content and the emitter's version.
    source = f"PyYAML {yaml.__version__}\n{json.dumps(ordered)}".encode()
    return derived("manifest-yaml", source, lambda: _yaml(ordered))


def _yaml(ordered: Mapping[str, Any]) -> str:
    return yaml.dump(
        ordered, Dumper=SafeDumper, sort_keys=False, default_flow_style=False, width=100
    )


def component_of(entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """URN -> URN of its top-level Plinth component (itself for a top-level resource)."""
    parents = {entry["urn"]: entry["parent"] for entry in entries}
    roots: dict[str, str] = {}
    for urn in parents:
        current = urn
        while parents[current] in parents:
            current = parents[current]
        roots[urn] = current
    return roots


def summary_rows(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """(top-level name, its type, resources it holds including itself), sorted by name."""
    by_urn = {entry["urn"]: entry for entry in entries}
    counts = Counter(component_of(entries).values())
    rows = [(by_urn[urn]["name"], by_urn[urn]["type"], count) for urn, count in counts.items()]
    return sorted(rows)


RENDERING_TYPES = {"kubernetes:helm.sh/v4:Chart": "chart", "kubernetes:yaml/v2:ConfigFile": "file"}


def _rendered_lines(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per Helm chart: how many objects it rendered (CRD files in one total)."""
    counts = Counter(entry["parent"] for entry in entries)
    lines, files, file_objects = [], 0, 0
    for entry in entries:
        kind = RENDERING_TYPES.get(entry["type"])
        if kind == "chart":
            inputs = entry["inputs"]
            lines.append(
                f"  chart {entry['name']} ({inputs.get('chart')} {inputs.get('version')}): "
                f"{counts[entry['urn']]} objects"
            )
        elif kind == "file":
            files, file_objects = files + 1, file_objects + counts[entry["urn"]]
    if files:
        lines.append(f"  {files} CRD files: {file_objects} objects")
    return lines


def format_summary(environment: str, entries: Sequence[Mapping[str, Any]], out_dir: Path) -> str:
    """The table `plinth synth` prints."""
    rows = summary_rows(entries)
    width = max(len(name) for name, _, _ in rows)
    type_width = max(len(kind) for _, kind, _ in rows)
    lines = [f"{'component':<{width}}  {'type':<{type_width}}  resources"]
    lines += [f"{name:<{width}}  {kind:<{type_width}}  {count:>9}" for name, kind, count in rows]
    lines += _rendered_lines(entries)
    objects = len(kubernetes_objects(entries))
    lines.append(
        f"{environment}: {len(entries)} resources, {objects} Kubernetes objects -> {out_dir}"
    )
    return "\n".join(lines)
