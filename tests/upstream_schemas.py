"""The schemas the offline tests validate against, read from unmodified upstream files.

Upstream data (see ../shared/upstream/README.md): MANIFEST.yaml, the CRDs of each pinned
release, and each chart's `values.yaml` / `values.schema.json`. The built-in Kubernetes
API groups come from the OpenAPI schemas `kubernetes-validate` ships. Loading is cached,
so a session parses each file once.

The checkers (`strict_crd_schema`, `unknown_value_paths`, `schema_errors`) are plain
functions over plain data, so tests can feed them a deliberate mistake and see it caught.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from plinth.chart_values import effective_defaults as effective_chart_defaults
from plinth.environments import load_environment
from plinth.synth import program_entries
from plinth.upstream import UpstreamFile, manifest, upstream_file_for_url

try:  # libyaml parses the 17 MB of CRDs in about a second; pure Python takes far longer.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover (PyYAML built without libyaml)
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _UpstreamLoader(_SafeLoader):
    """Safe YAML loading that reads a plain `=` as the string "=", as YAML 1.2 does.

    PyYAML's YAML 1.1 resolver tags `=` as `tag:yaml.org,2002:value` and has no constructor
    for it (kube-prometheus-stack's AlertmanagerConfig CRD has one in an enum). The
    constructor is registered on this private subclass only, never on PyYAML's loaders.
    """


def _construct_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_UpstreamLoader.add_constructor("tag:yaml.org,2002:value", _construct_string)


def load_yaml_documents(path: Path) -> list[Any]:
    """Every non-empty YAML document of `path`."""
    with path.open("rb") as stream:
        return [doc for doc in yaml.load_all(stream, Loader=_UpstreamLoader) if doc is not None]


# --- CRDs ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per CRD version
class CrdVersion:
    """One version of one upstream CRD."""

    group: str
    version: str
    kind: str
    served: bool
    schema: Mapping[str, Any]  # openAPIV3Schema, as upstream wrote it
    source: UpstreamFile


def _crd_versions(document: Mapping[str, Any], source: UpstreamFile) -> Iterator[CrdVersion]:
    spec = document["spec"]
    for version in spec["versions"]:
        yield CrdVersion(
            group=spec["group"],
            version=version["name"],
            kind=spec["names"]["kind"],
            served=bool(version.get("served")),
            schema=version.get("schema", {}).get("openAPIV3Schema", {}),
            source=source,
        )


@functools.cache
def crds_in(root: Path, file: str) -> tuple[CrdVersion, ...]:
    """Every CRD version defined in the upstream file `file` (a path under `root`)."""
    entry = next(e for e in manifest(root) if e.file == file)
    documents = load_yaml_documents(root / file)
    crds = [doc for doc in documents if doc.get("kind") == "CustomResourceDefinition"]
    return tuple(version for crd in crds for version in _crd_versions(crd, entry))


def crd_files(root: Path) -> tuple[str, ...]:
    """The upstream files that hold CRDs."""
    return tuple(e.file for e in manifest(root) if "/crds/" in e.file)


def group_version(api_version: str) -> tuple[str, str]:
    """("apps", "v1") from "apps/v1"; ("", "v1") for the core group."""
    group, _, version = api_version.rpartition("/")
    return group, version


def crd_for(
    root: Path, obj: Mapping[str, Any], files: Iterable[str] | None = None
) -> CrdVersion | None:
    """The upstream CRD version that defines `obj`'s apiVersion and kind, if any.

    Searches `files` (e.g. those a plan installs), or every CRD file: parsing them all
    takes seconds.
    """
    group, version = group_version(obj["apiVersion"])
    wanted = (group, version, obj["kind"])
    for file in crd_files(root) if files is None else files:
        for crd in crds_in(root, file):
            if (crd.group, crd.version, crd.kind) == wanted:
                return crd
    return None


CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"


def installed_upstream_files(root: Path, entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """URN -> upstream file, for every `yaml/v2:ConfigFile` of a plan whose URL is pinned."""
    installed = {}
    for entry in entries:
        if entry["type"] == CONFIG_FILE:
            upstream = upstream_file_for_url(root, str(entry["inputs"].get("file", "")))
            if upstream is not None:
                installed[entry["urn"]] = upstream.file
    return installed


def _strict_type(node: Mapping[str, Any]) -> list[str] | str | None:
    types: list[str] = []
    if node.get("x-kubernetes-int-or-string"):
        types = ["integer", "string"]
    elif isinstance(node.get("type"), str):
        types = [node["type"]]
    if types and node.get("nullable"):
        types.append("null")
    return types[0] if len(types) == 1 else types or None


def _strict_node(node: Mapping[str, Any]) -> dict[str, Any]:
    strict = dict(node)
    if (types := _strict_type(node)) is not None:
        strict["type"] = types
    properties = {key: _strict_node(sub) for key, sub in node.get("properties", {}).items()}
    if node.get("x-kubernetes-embedded-resource"):
        # An embedded object implicitly has apiVersion, kind and metadata.
        properties = {**properties, **EMBEDDED_FIELDS}
    if properties:
        strict["properties"] = properties
    for keyword in ("additionalProperties", "items"):
        if isinstance(node.get(keyword), Mapping):
            strict[keyword] = _strict_node(node[keyword])
    is_object = node.get("type") == "object" or "properties" in node
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if is_object and "additionalProperties" not in node and not preserve:
        strict["additionalProperties"] = False
    return strict


EMBEDDED_FIELDS: Mapping[str, Any] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def strict_crd_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema that rejects what the API server rejects with strict field validation.

    The API server prunes, or with field validation Strict rejects, every field a
    structural schema does not declare; JSON Schema allows them unless
    `additionalProperties: false`. So every object schema (with `properties`, or of type
    object) gets `additionalProperties: false`, unless it sets additionalProperties itself
    or carries `x-kubernetes-preserve-unknown-fields: true`: an object with no properties
    then accepts only {}, as the API server prunes all of it. `x-kubernetes-int-or-string`
    becomes integer-or-string, `nullable` adds null, and an
    `x-kubernetes-embedded-resource` accepts apiVersion, kind and metadata. Only the
    structural positions (properties, items, additionalProperties) are converted:
    allOf/anyOf/oneOf/not only add value constraints and may name a subset of the fields.
    Top-level `metadata` is any object (the API server checks it as ObjectMeta). The CRD's
    schema is not changed: the result is a new structure.
    """
    strict = _strict_node(schema)
    strict["properties"] = {**strict.get("properties", {}), **EMBEDDED_FIELDS}
    strict["additionalProperties"] = False
    return strict


@functools.cache
def _crd_validator(crd: CrdVersion) -> jsonschema.Draft4Validator:
    # OpenAPI v3.0 schemas follow draft 4 (e.g. boolean exclusiveMinimum).
    return jsonschema.Draft4Validator(strict_crd_schema(crd.schema))


def custom_resource_errors(crd: CrdVersion, obj: Mapping[str, Any]) -> list[str]:
    """Why the API server would refuse `obj` under `crd`; empty if it would accept it."""
    if not crd.served:
        return [f"{crd.source.file} does not serve version {crd.version} of {crd.kind}"]
    return _error_lines(_crd_validator(crd), obj)


def _error_lines(validator: Any, instance: Any) -> list[str]:
    errors = validator.iter_errors(instance)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


# --- Built-in Kubernetes API groups ----------------------------------------------------


@functools.cache
def builtin_groups(kubernetes_version: str) -> frozenset[str]:
    """API groups the Kubernetes release serves itself ("" is the core group).

    Read from the `x-kubernetes-group-version-kind` of the definitions kubernetes-validate
    ships for that release ("1.33" -> v1.33.0); a release it does not ship is an error.
    """
    schemas = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    definitions = schemas / f"v{kubernetes_version}.0-local-strict" / "_definitions.json"
    document = json.loads(definitions.read_text(encoding="utf-8"))
    return frozenset(
        gvk["group"]
        for definition in document["$defs"].values()
        for gvk in definition.get("x-kubernetes-group-version-kind", [])
    )


def is_custom_resource(obj: Mapping[str, Any], kubernetes_version: str) -> bool:
    """Whether `obj` belongs to an API group that only a CRD can add to the cluster."""
    group, _ = group_version(obj["apiVersion"])
    return group not in builtin_groups(kubernetes_version)


def builtin_object_errors(obj: Mapping[str, Any], kubernetes_version: str) -> list[str]:
    """Why `obj` breaks the OpenAPI schema of Kubernetes `kubernetes_version` ("1.33").

    Strict: an unknown field is an error, as with server-side field validation Strict.
    kubernetes-validate reports the first error only.
    """
    try:
        used = kubernetes_validate.validate(dict(obj), f"{kubernetes_version}.0", strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{error.json_path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [str(error.message)]
    if used != kubernetes_version:
        return [f"validated against Kubernetes {used}, not {kubernetes_version}"]
    return []


# --- Helm charts -----------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamChart:
    """A chart of the upstream data: its files and the versions it stands for."""

    name: str
    component: str
    versions: frozenset[str]  # without a leading "v"
    values: Path | None  # None: the chart takes no values
    values_schema: Path | None
    dependencies: frozenset[str]  # subchart keys (name or alias) of its values
    ships_crds: bool  # whether upstream ships CRDs with the component


def _chart_versions(entry: UpstreamFile, chart_yaml: Mapping[str, Any]) -> frozenset[str]:
    # istio and gpu-operator keep a placeholder in Chart.yaml and stamp the release version
    # when packaging, so the directory version counts. Chart.yaml's own version counts only
    # where the tag carries it (dcgm-exporter's tag "4.5.3-4.8.2" is chart 4.8.2).
    versions = {entry.version.removeprefix("v")}
    stated = str(chart_yaml.get("version", "")).removeprefix("v")
    if stated and (entry.tag.removeprefix("v") == stated or entry.tag.endswith(f"-{stated}")):
        versions.add(stated)
    return frozenset(versions)


def _chart(root: Path, entry: UpstreamFile) -> UpstreamChart:
    chart_dir = entry.file.removesuffix("Chart.yaml")
    listed = {e.file for e in manifest(root)}

    def upstream_path(name: str) -> Path | None:
        return root / chart_dir / name if chart_dir + name in listed else None

    chart_yaml = yaml.safe_load((root / entry.file).read_text(encoding="utf-8"))
    dependencies = chart_yaml.get("dependencies") or []
    crds_dir = f"{entry.component}/{entry.version}/crds/"
    return UpstreamChart(
        name=Path(chart_dir).name,
        component=entry.component,
        versions=_chart_versions(entry, chart_yaml),
        values=upstream_path("values.yaml"),
        values_schema=upstream_path("values.schema.json"),
        dependencies=frozenset(d.get("alias") or d["name"] for d in dependencies),
        ships_crds=any(file.startswith(crds_dir) for file in listed),
    )


@functools.cache
def upstream_charts(root: Path) -> tuple[UpstreamChart, ...]:
    """Every chart of the upstream data (a `<component>/<version>/charts/<chart>/` dir)."""
    pattern = re.compile(r"^[^/]+/[^/]+/charts/[^/]+/Chart\.yaml$")
    return tuple(_chart(root, entry) for entry in manifest(root) if pattern.match(entry.file))


def find_chart(root: Path, name: str, version: str) -> UpstreamChart | None:
    """The upstream chart `name` at `version` (with or without a leading "v")."""
    wanted = version.removeprefix("v")
    for chart in upstream_charts(root):
        if chart.name == name and wanted in chart.versions:
            return chart
    return None


@functools.cache
def chart_defaults(chart: UpstreamChart) -> Mapping[str, Any]:
    """The chart's `values.yaml` as upstream wrote it ({} when it has none)."""
    if chart.values is None:
        return {}
    documents = load_yaml_documents(chart.values)
    return documents[0] if documents else {}


@functools.cache
def chart_values_schema(chart: UpstreamChart) -> Mapping[str, Any] | None:
    """The chart's `values.schema.json`, where upstream ships one."""
    if chart.values_schema is None:
        return None
    loaded: Mapping[str, Any] = json.loads(chart.values_schema.read_text(encoding="utf-8"))
    return loaded


def effective_defaults(chart: UpstreamChart) -> dict[str, Any]:
    """The defaults a user's keys are read against (Istio's wrapper key unwrapped)."""
    return effective_chart_defaults(chart_defaults(chart))


def helm_merge(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` over `defaults` as Helm coalesces them: maps merge, null deletes a key."""
    merged = dict(defaults)
    for key, value in values.items():
        current = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = helm_merge(current, value)
        else:
            merged[key] = value
    return merged


def schema_errors(schema: Mapping[str, Any], instance: Any) -> list[str]:
    """Every way `instance` breaks the JSON Schema `schema` (draft from its `$schema`)."""
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    return _error_lines(validator_class(schema), instance)


# --- Plans, for parametrizing at collection time ---------------------------------------


@functools.cache
def plan_entries(project: Path, environment: str) -> tuple[dict[str, Any], ...]:
    """The plan entries of `environment`, computed once (no files written).

    Tests are parametrized per object so each one is reported by name; pytest needs the
    objects while collecting, before any fixture runs.
    """
    return tuple(program_entries(project, load_environment(project, environment)))


@functools.cache
def kubernetes_version(project: Path, environment: str) -> str:
    """The Kubernetes minor version `environment` runs, e.g. "1.33"."""
    return str(load_environment(project, environment).platform.cluster.kubernetes_version)


def object_entries(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The plan entries that are one Kubernetes object (inputs with apiVersion and kind)."""
    return [
        entry
        for entry in entries
        if entry["custom"] and entry["type"].startswith("kubernetes:") and "kind" in entry["inputs"]
    ]


def object_label(obj: Mapping[str, Any]) -> str:
    """Kind/namespace/name (Kind/name for a cluster-scoped object)."""
    metadata = obj.get("metadata") or {}
    parts = (obj.get("kind"), metadata.get("namespace"), metadata.get("name"))
    return "/".join(str(part) for part in parts if part)
