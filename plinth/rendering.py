"""Expand the plan's charts and CRD files into the Kubernetes objects they deploy.

Under Pulumi's mocks a `helm.sh/v4:Chart` and a `yaml/v2:ConfigFile` are remote components:
only their inputs are recorded. On `pulumi up`, pulumi-kubernetes renders them and registers
every object as its own resource. This module does the same offline, following
pulumi-kubernetes 4.34 (`provider/pkg/provider/helm/v4/chart.go`, `yaml/v2/yaml.go`):

- the release is named after the Chart resource (its `name` input, else the resource
  name) in its `namespace` input; hooks (`helm.sh/hook`, tests included), NOTES.txt and
  empty documents are dropped (hooks are never applied: pulumi-kubernetes #3284); the
  chart's `crds/` are included unless `skipCrds`;
- `List` objects are expanded; a namespaced object without a namespace gets the release
  namespace (the ConfigFile's: the provider default, `default`);
- each object becomes a child resource named `<resource prefix>:<namespace>/<name>`
  (`<prefix>:<name>` when cluster-scoped), prefix = the component's name, typed by its
  apiVersion and kind, with the component's Kubernetes provider; a Secret's `data` and
  `stringData` are secret; `helm.sh/resource-policy: keep` sets `retain_on_delete`; it
  depends on what the chart or file depends on.

Where `helm install` checks more than a render does, so does this: the chart's
`kubeVersion` constraint, missing dependencies, its values.schema.json, and `.Capabilities`
(the environment's Kubernetes version, and the API versions of every CRD the plan installs).
Every value Plinth passes must be one the chart knows (`plinth.chart_values`). A chart must
render the same twice: a generated value (a random password) is an error naming the field.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.merge import deep_merge
from plinth import cache, helm
from plinth.cache import derived
from plinth.chart_sources import ChartRequest, ChartSource, locate_chart, locate_file
from plinth.chart_values import check_chart_values
from plinth.engine import SECRET_MARK, make_urn
from plinth.kube_version import satisfies
from plinth.progress import silent
from stacks.config import ConfigError

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE_TYPE = "kubernetes:yaml/v2:ConfigFile"
DEFAULT_NAMESPACE = "default"  # the provider's, when a ConfigFile names none
HOOK_ANNOTATION = "helm.sh/hook"
Transform = Callable[[pulumi.ResourceTransformArgs], Any]
RESOURCE_POLICY_ANNOTATION = "helm.sh/resource-policy"

try:  # libyaml is much faster on the large rendered outputs and CRD files
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover (PyYAML built without libyaml)
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class GoYamlLoader(_BaseLoader):
    """Reads rendered YAML as Kubernetes' Go decoder does: timestamps stay strings, and a
    plain `=` is the string "=" (PyYAML's YAML 1.1 resolver knows neither way)."""


GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _construct_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


GoYamlLoader.add_constructor("tag:yaml.org,2002:value", _construct_string)

# Built-in kinds that are not namespaced (Kubernetes 1.31-1.36 API groups).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersionMigration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)


@dataclass
class Expansion:
    """What rendering added to a plan: the objects per component, and the CRDs seen."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    objects_per_component: dict[str, int] = field(default_factory=dict)  # name -> count
    crd_scopes: dict[tuple[str, str], bool] = field(default_factory=dict)  # (group, kind)
    api_versions: set[str] = field(default_factory=set)
    transforms: Mapping[str, Sequence[Transform]] = field(default_factory=dict)

    def learn_crds(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Remember the scope and served API versions of every CRD among `objects`."""
        for obj in objects:
            if obj.get("kind") != "CustomResourceDefinition":
                continue
            spec = obj.get("spec") or {}
            group, kind = str(spec.get("group")), str((spec.get("names") or {}).get("kind"))
            self.crd_scopes[(group, kind)] = spec.get("scope") == "Namespaced"
            for version in spec.get("versions") or []:
                if version.get("served", True):
                    self.api_versions.add(f"{group}/{version['name']}")
                    self.api_versions.add(f"{group}/{version['name']}/{kind}")


def expand_plan(
    entries: Sequence[dict[str, Any]],
    *,
    kubernetes_version: str,
    source: ChartSource,
    transforms: Mapping[str, Sequence[Transform]] | None = None,
    progress: Callable[[str], None] = silent,
) -> Expansion:
    """The objects every ConfigFile and Chart of the plan deploys, as plan entries.

    ConfigFiles first: their CRDs tell the charts which API versions the cluster will serve.
    `transforms` are the resources' own `transforms=` by URN: the engine applies a
    component's, and its ancestors', to each object it renders, and so does this.
    `progress` hears of each file and chart as it starts.
    """
    parents = {entry["urn"]: entry["parent"] for entry in entries}
    expansion = Expansion(transforms=_inherited(transforms or {}, parents))
    for entry in sorted(entries, key=lambda e: e["urn"]):
        if entry["type"] == CONFIG_FILE_TYPE:
            progress(f"reading CRD file {entry['name']}")
            objects = json.loads(_parsed_file(locate_file(source, entry["inputs"]["file"])))
            _add_children(expansion, entry, objects, DEFAULT_NAMESPACE)
    for entry in sorted(entries, key=lambda e: e["urn"]):
        if entry["type"] == CHART_TYPE:
            inputs = entry["inputs"]
            progress(f"rendering chart {entry['name']} ({inputs['chart']} {inputs.get('version')})")
            namespace = str(entry["inputs"].get("namespace") or DEFAULT_NAMESPACE)
            objects = render_chart(entry, kubernetes_version, source, expansion.api_versions)
            _add_children(expansion, entry, objects, namespace)
    return expansion


@functools.cache
def _parsed_file(path: Path) -> str:
    """The objects of a pinned manifest file, as JSON text: parsed once (a CRD file is large
    and YAML slow; the result is cached by the file's content), a fresh copy per use."""
    text = path.read_bytes()
    return derived("parsed-manifests", text, lambda: json.dumps(parse_manifests([text.decode()])))


def render_chart(
    entry: Mapping[str, Any],
    kubernetes_version: str,
    source: ChartSource,
    api_versions: Iterable[str],
) -> list[dict[str, Any]]:
    """The objects one Chart entry deploys, checked as `helm install` checks a release."""
    inputs = entry["inputs"]
    request = ChartRequest(
        chart=str(inputs["chart"]),
        version=str(inputs.get("version") or ""),
        repo=(inputs.get("repositoryOpts") or {}).get("repo"),
    )
    label = f"{entry['name']} (chart {request.name} {request.version})"
    if not request.version:
        raise ConfigError(f"{label}: no chart version; pin one in components/versions.py")
    chart_path = locate_chart(source, request)
    chart_digest = cache.tree_digest(chart_path)
    info = helm.chart_info(chart_path, chart_digest)
    values = inputs.get("values") or {}
    _check_install_preconditions(
        label, info, kubernetes_version, unstaged=unstaged(source, info, values)
    )
    check_chart_values(label, values, info)
    release = {
        "release": str(inputs.get("name") or entry["name"]),
        "namespace": str(inputs.get("namespace") or DEFAULT_NAMESPACE),
        "kube_version": f"v{kubernetes_version}.0",
        "api_versions": sorted(api_versions),
        "include_crds": not inputs.get("skipCrds", False),
    }
    key = render_key(chart_digest, values, release)
    cached = cache.lookup("chart-objects", key)
    if cached is not None:
        objects: list[dict[str, Any]] = json.loads(cached)
        return objects
    objects = _render_checked(label, chart_path, values, release)
    text = json.dumps(objects)
    if json.loads(text) == objects:  # a value JSON cannot hold (an int map key): not cached
        cache.store("chart-objects", key, text)
    return objects


def render_key(chart_digest: str, values: Mapping[str, Any], release: Mapping[str, Any]) -> bytes:
    """Every input a chart's deployed objects depend on, as bytes to key the cache with:
    the chart's files (`cache.tree_digest`), the values, the release and its capabilities,
    the Helm SDK's version, and the code that turns Helm's output into objects (this
    module, plinth/helm.py, PyYAML's version)."""
    code = b"".join(Path(module).read_bytes() for module in (__file__, helm.__file__))
    parts = {
        "chart": chart_digest,
        "values": values,
        "release": release,
        "helm": helm.engine_version(),
        "pyyaml": yaml.__version__,
        "code": hashlib.sha256(code).hexdigest(),
    }
    return json.dumps(parts, sort_keys=True).encode()


def _render_checked(
    label: str, chart_path: Path, values: Mapping[str, Any], release: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The deployed objects of one release, rendered twice and refused unless both renders
    agree (a generated value, e.g. a random password)."""
    renders = [helm.render(chart_path, values, **release) for _ in range(2)]
    # Hooks are never applied, so only the deployed objects must render the same twice.
    first, second = (
        [obj for obj in parse_manifests(_deployed_templates(render)) if not _is_hook(obj)]
        for render in renders
    )
    _check_deterministic(label, first, second)
    return first


def unstaged(source: ChartSource, info: helm.ChartInfo, values: Mapping[str, Any]) -> set[str]:
    """The dependencies the upstream data folder leaves out of a chart because the release
    disables them (shared/upstream/README.md: mlflow's Bitnami and MinIO subcharts): the
    published package carries them, so `helm install` of it passes the dependency check.
    Only for the upstream folder; a repository or mirror chart is the package itself."""
    if source.kind != "upstream":
        return set()
    merged = deep_merge(dict(info.values), dict(values))
    return {
        str(dependency.get("name"))
        for dependency in info.declared_dependencies
        if dependency.get("condition")
        and not _condition_holds(merged, str(dependency["condition"]))
    }


def _condition_holds(values: Mapping[str, Any], condition: str) -> bool:
    """A Chart.yaml dependency `condition` (a dotted values path) read as Helm reads it:
    true unless the path holds false (the first path of a comma-separated list decides)."""
    node: Any = values
    for key in condition.split(",", 1)[0].strip().split("."):
        if not isinstance(node, Mapping) or key not in node:
            return True
        node = node[key]
    return node is not False


def _check_install_preconditions(
    label: str, info: helm.ChartInfo, kubernetes_version: str, unstaged: Collection[str] = ()
) -> None:
    if info.kube_version and not satisfies(f"{kubernetes_version}.0", info.kube_version):
        raise ConfigError(
            f"{label}: the chart requires Kubernetes {info.kube_version}, the environment runs "
            f"{kubernetes_version}; change the cluster's kubernetes_version or the chart pin"
        )
    missing = sorted(
        str(d.get("name"))
        for d in info.declared_dependencies
        if d.get("name") not in info.loaded_dependencies and d.get("name") not in unstaged
    )
    if missing:
        raise ConfigError(
            f"{label}: dependencies {', '.join(missing)} are declared in Chart.yaml but missing "
            "from charts/ (helm install refuses it); provide them with the chart"
        )


def _deployed_templates(rendered: Mapping[str, str]) -> list[str]:
    """The rendered texts Helm would send to the cluster (no NOTES.txt), in path order."""
    return [text for path, text in sorted(rendered.items()) if not path.endswith("NOTES.txt")]


# How Helm splits a rendered template into documents (releaseutil.SplitManifests): a `---`
# after a line break ends a document even when text follows on its line, as in
# cert-manager v1.21.1's rbac.yaml, whose `-}}` leaves `---# Permission to ...`.
_HELM_DOCUMENT_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def parse_manifests(texts: Iterable[str]) -> list[dict[str, Any]]:
    """Every object in `texts` (multi-document YAML, split as Helm splits it), `List`s
    expanded."""
    objects: list[dict[str, Any]] = []
    for text in texts:
        for part in _HELM_DOCUMENT_SEPARATOR.split(text):
            document = yaml.load(part, Loader=GoYamlLoader)  # noqa: S506 (a SafeLoader)
            objects.extend(_expand_lists(document))
    return objects


def _expand_lists(document: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(document, dict) or not document:
        return
    if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
        for item in document["items"]:
            yield from _expand_lists(item)
        return
    yield document


def _is_hook(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return HOOK_ANNOTATION in annotations


def _check_deterministic(
    label: str, first: Sequence[Mapping[str, Any]], second: Sequence[Mapping[str, Any]]
) -> None:
    for one, other in zip(first, second, strict=True):
        if one != other:
            where = _first_difference(one, other, "")
            metadata = one.get("metadata") or {}
            raise ConfigError(
                f"{label}: renders a different {one.get('kind')} {metadata.get('name')} on each "
                f"run (at {where or 'the object'}: a generated value, e.g. a random password); "
                "set that chart value from configuration or a secret so renders are repeatable"
            )


def _first_difference(one: Any, other: Any, path: str) -> str:
    if isinstance(one, dict) and isinstance(other, dict):
        for key in sorted(set(one) | set(other)):
            if one.get(key) != other.get(key):
                return _first_difference(one.get(key), other.get(key), f"{path}.{key}")
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        for index, (a, b) in enumerate(zip(one, other, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return path.lstrip(".")


def _add_children(
    expansion: Expansion,
    component: Mapping[str, Any],
    objects: list[dict[str, Any]],
    namespace: str,
) -> None:
    expansion.learn_crds(objects)
    prefix = str(component["inputs"].get("resourcePrefix") or component["name"])
    for obj in objects:
        _default_namespace(obj, namespace, expansion.crd_scopes)
        entry = child_entry(component, obj, prefix)
        for transform in expansion.transforms.get(component["urn"], ()):
            entry["inputs"] = _transformed(transform, entry)
        expansion.entries.append(entry)
    expansion.objects_per_component[component["name"]] = len(objects)


def _inherited(
    own: Mapping[str, Sequence[Transform]], parents: Mapping[str, str]
) -> dict[str, list[Transform]]:
    """URN -> the transforms that apply to its children: its own, then its ancestors'."""
    chains: dict[str, list[Transform]] = {}
    for urn in parents:
        chain: list[Transform] = []
        current = urn
        while current:
            chain.extend(own.get(current, ()))
            current = parents.get(current, "")
        chains[urn] = chain
    return chains


def _transformed(transform: Transform, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's inputs after `transform`, called as the engine calls it for a child."""
    args = pulumi.ResourceTransformArgs(
        custom=True,
        type_=entry["type"],
        name=entry["name"],
        props=copy.deepcopy(entry["inputs"]),
        opts=pulumi.ResourceOptions(),
    )
    result = transform(args)
    if inspect.isawaitable(result):
        result = asyncio.new_event_loop().run_until_complete(result)
    return dict(result.props) if result is not None else dict(entry["inputs"])


def _default_namespace(
    obj: dict[str, Any], namespace: str, crd_scopes: Mapping[tuple[str, str], bool]
) -> None:
    metadata = obj.setdefault("metadata", {})
    if metadata.get("namespace"):
        return
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if (group, kind) in crd_scopes:
        namespaced = crd_scopes[(group, kind)]
    else:
        # A kind whose CRD the plan does not install: built-in kinds by the list above; a
        # custom kind is taken as namespaced, as most are (on `pulumi up` the provider asks
        # the cluster).
        namespaced = kind not in CLUSTER_SCOPED_KINDS
    if namespaced:
        metadata["namespace"] = namespace


def type_token(obj: Mapping[str, Any]) -> str:
    """The Pulumi type of a Kubernetes object: `kubernetes:<group or core>/<version>:<Kind>`."""
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{obj.get('kind')}"


def child_entry(
    component: Mapping[str, Any], obj: Mapping[str, Any], prefix: str
) -> dict[str, Any]:
    """The plan entry of one rendered object, a child of `component`."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name", ""))
    if not name:
        raise ConfigError(
            f"{component['name']}: a rendered {obj.get('kind')} has no metadata.name "
            "(pulumi-kubernetes refuses it); fix the chart values"
        )
    namespace = metadata.get("namespace")
    resource_name = f"{prefix}:{namespace}/{name}" if namespace else f"{prefix}:{name}"
    token = type_token(obj)
    stack, project = component["urn"].removeprefix("urn:pulumi:").split("::")[:2]
    annotations = metadata.get("annotations") or {}
    provider = (component.get("providers") or {}).get("kubernetes") or component["provider"]
    return {
        "urn": make_urn(stack, project, component["urn"], token, resource_name),
        "type": token,
        "name": resource_name,
        "parent": component["urn"],
        "custom": True,
        "remote": False,
        "provider": provider,
        "providers": {},
        # Chart v4 and ConfigFile v2 register each object with the component's dependsOn
        # (pulumi-kubernetes #1833): a chart's custom resources wait for the CRD stage.
        "dependencies": list(component.get("dependencies") or []),
        "protect": component["protect"],
        "retain_on_delete": component["retain_on_delete"]
        or annotations.get(RESOURCE_POLICY_ANNOTATION) == "keep",
        "delete_before_replace": False,
        "ignore_changes": [],
        "replace_on_changes": [],
        "aliases": [],
        "inputs": _as_inputs(obj),
    }


def _as_inputs(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as plan inputs, each value of a Secret's data marked secret (its keys
    stay, as the engine shows them, so the object keeps its schema's shape; an empty
    `data:`, which a chart renders as null, stays null)."""
    inputs = dict(obj)
    if inputs.get("apiVersion") == "v1" and inputs.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(inputs.get(key), Mapping):
                inputs[key] = dict.fromkeys(sorted(inputs[key]), SECRET_MARK)
            elif inputs.get(key) is not None:
                inputs[key] = SECRET_MARK
    return inputs
