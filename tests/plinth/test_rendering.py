"""Charts and CRD files of a plan expanded into the objects they deploy (plinth/rendering.py).

A plan holding the hand-written probe chart (tests/fixtures/charts/plinth-probe) and one
ConfigFile is expanded from an air-gap mirror made in a temporary directory; the children
must be what pulumi-kubernetes 4.34 Chart v4 / yaml v2 would register on `pulumi up`.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pytest

from plinth import helm
from plinth.chart_sources import ChartSource
from plinth.rendering import (
    CHART_TYPE,
    CONFIG_FILE_TYPE,
    Expansion,
    expand_plan,
    parse_manifests,
    unstaged,
)
from stacks.config import ConfigError
from tests.conftest import ROOT

PROBE = ROOT / "tests" / "fixtures" / "charts" / "plinth-probe"
STACK = "urn:pulumi:test::plinth::pulumi:pulumi:Stack::plinth-test"
COMPONENT = "urn:pulumi:test::plinth::plinth:test:Probe::probe"
PROVIDER = "urn:pulumi:test::plinth::pulumi:providers:kubernetes::cluster::cluster-id"
GIZMO_CRD_URL = "https://crds.example.com/gizmos/v2/gizmos.yaml"
GIZMO_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.gizmos.example.com
spec:
  group: gizmos.example.com
  scope: Namespaced
  names: {kind: Gizmo, plural: gizmos}
  versions:
    - name: v2
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
"""


def entry(kind: str, resource: str, **inputs: Any) -> dict[str, Any]:
    """A plan entry of a Chart or ConfigFile, as the mock engine records one."""
    return {
        "urn": f"urn:pulumi:test::plinth::plinth:test:Probe${kind}::{resource}",
        "type": kind,
        "name": resource,
        "parent": COMPONENT,
        "custom": False,
        "remote": True,
        "provider": PROVIDER,
        "providers": {"kubernetes": PROVIDER},
        "protect": False,
        "retain_on_delete": False,
        "dependencies": [],
        "inputs": inputs,
    }


def chart(resource: str = "probe", **inputs: Any) -> dict[str, Any]:
    """The probe chart in namespace `apps`; `inputs` change one input each."""
    defaults = {
        "chart": "plinth-probe",
        "version": "0.3.1",
        "namespace": "apps",
        "repositoryOpts": {"repo": "https://charts.example.com"},
        "values": {"labels": {"team": "ml"}},
    }
    return entry(CHART_TYPE, resource, **{**defaults, **inputs})


def write_mirror(directory: Path, *charts: Path) -> ChartSource:
    """An air-gap mirror holding `charts`, packaged, and the Gizmo CRD file."""
    (directory / "charts").mkdir(parents=True)
    for chart_dir in charts:
        helm.package(chart_dir, directory / "charts")
    crd = directory / "files" / "crds.example.com" / "gizmos" / "v2" / "gizmos.yaml"
    crd.parent.mkdir(parents=True, exist_ok=True)
    crd.write_text(GIZMO_CRD, encoding="utf-8")
    return ChartSource("mirror", directory)


@pytest.fixture(scope="module", autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the engine derives from the files it reads is cached here, not in ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLINTH_CHART_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> ChartSource:
    return write_mirror(tmp_path_factory.mktemp("mirror"), PROBE)


def expand(
    mirror: ChartSource, entries: Sequence[dict[str, Any]], kubernetes_version: str = "1.31"
) -> Expansion:
    return expand_plan(entries, kubernetes_version=kubernetes_version, source=mirror)


@pytest.fixture(scope="module")
def expanded(mirror: ChartSource) -> Expansion:
    """The probe chart with its CRDs, next to a ConfigFile installing the Gizmo CRD."""
    return expand(mirror, [entry(CONFIG_FILE_TYPE, "gizmo-crd", file=GIZMO_CRD_URL), chart()])


@pytest.fixture(scope="module")
def expanded_without_crds(mirror: ChartSource) -> Expansion:
    """The probe chart alone, released as `second` in `other`, skipping its CRDs."""
    plan = [chart("probe-two", name="second", namespace="other", skipCrds=True)]
    return expand(mirror, plan, kubernetes_version="1.34")


def children(expansion: Expansion, chart_name: str = "probe") -> dict[tuple[str, str], Any]:
    """(type, resource name) -> plan entry of the objects one chart deploys."""
    chart_urn = f"urn:pulumi:test::plinth::plinth:test:Probe${CHART_TYPE}::{chart_name}"
    return {(e["type"], e["name"]): e for e in expansion.entries if e["parent"] == chart_urn}


def objects_of(expansion: Expansion, kind: str) -> list[dict[str, Any]]:
    return [e["inputs"] for e in expansion.entries if e["inputs"]["kind"] == kind]


def one(expansion: Expansion, kind: str, name: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects_of(expansion, kind) if obj["metadata"]["name"] == name]
    return found


def test_children_are_named_prefix_namespace_name_and_typed_by_group_version_kind(
    expanded: Expansion,
) -> None:
    names = set(children(expanded))
    assert {
        ("kubernetes:apps/v1:Deployment", "probe:apps/probe-web"),
        ("kubernetes:core/v1:Service", "probe:apps/probe-web"),
        ("kubernetes:core/v1:Secret", "probe:apps/probe-credentials"),
        ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "probe:probe-reader"),
        (
            "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
            "probe:widgets.probe.plinth.io",
        ),
        ("kubernetes:probe.plinth.io/v1alpha1:Widget", "probe:probe-widget"),
    } <= names


def test_children_are_parented_to_the_chart_with_its_kubernetes_provider(
    expanded: Expansion,
) -> None:
    deployment = children(expanded)[("kubernetes:apps/v1:Deployment", "probe:apps/probe-web")]
    assert deployment["urn"] == (
        "urn:pulumi:test::plinth::kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:Deployment"
        "::probe:apps/probe-web"
    )
    chart_urn = f"urn:pulumi:test::plinth::plinth:test:Probe${CHART_TYPE}::probe"
    probe_children = children(expanded).values()
    assert len(probe_children) == expanded.objects_per_component["probe"]
    assert {(e["parent"], e["provider"], e["custom"]) for e in probe_children} == {
        (chart_urn, PROVIDER, True)
    }
    assert len({e["urn"] for e in expanded.entries}) == len(expanded.entries)


def test_the_release_is_named_after_the_name_input_else_the_resource(
    expanded: Expansion, expanded_without_crds: Expansion
) -> None:
    assert one(expanded, "Deployment", "probe-web")["spec"]["template"]["metadata"]["labels"] == {
        "app.kubernetes.io/instance": "probe"
    }
    assert ("kubernetes:apps/v1:Deployment", "probe-two:other/second-web") in children(
        expanded_without_crds, "probe-two"
    )


def test_hooks_and_test_hooks_are_not_deployed(expanded: Expansion) -> None:
    assert objects_of(expanded, "Job") == []
    assert objects_of(expanded, "Pod") == []


def test_a_random_value_in_a_hook_does_not_matter(mirror: ChartSource) -> None:
    """The probe's hook Job carries `randAlphaNum`: two raw renders differ there, yet the
    chart expands, because hooks are never applied."""
    archive = mirror.directory / "charts" / "plinth-probe-0.3.1.tgz"
    hook_texts = [
        helm.render(
            archive,
            {},
            release="probe",
            namespace="apps",
            kube_version="v1.31.0",
            api_versions=[],
            include_crds=False,
        )["plinth-probe/templates/hook-job.yaml"]
        for _ in range(2)
    ]
    assert hook_texts[0] != hook_texts[1]
    assert expand(mirror, [chart()]).objects_per_component["probe"] > 0


def test_notes_are_not_deployed(expanded: Expansion) -> None:
    names = {obj["metadata"]["name"] for obj in objects_of(expanded, "ConfigMap")}
    assert names == {"probe-capabilities"}


def test_lists_are_expanded_into_their_items(expanded: Expansion) -> None:
    accounts = {obj["metadata"]["name"] for obj in objects_of(expanded, "ServiceAccount")}
    assert accounts == {"probe-first", "probe-second"}
    assert objects_of(expanded, "List") == []


def test_namespaced_objects_get_the_release_namespace_cluster_scoped_ones_none(
    expanded: Expansion,
) -> None:
    namespaces = {
        (obj["kind"], obj["metadata"].get("namespace"))
        for obj in (entry["inputs"] for entry in children(expanded).values())
    }
    assert namespaces == {
        ("Deployment", "apps"),
        ("Service", "apps"),
        ("Secret", "apps"),
        ("ConfigMap", "apps"),
        ("ServiceAccount", "apps"),
        ("ClusterRole", None),
        ("CustomResourceDefinition", None),
        ("Widget", None),  # its CRD, rendered with it, is cluster-scoped
    }


def test_a_custom_resource_without_its_crd_is_taken_as_namespaced(
    expanded_without_crds: Expansion,
) -> None:
    assert objects_of(expanded_without_crds, "CustomResourceDefinition") == []
    assert one(expanded_without_crds, "Widget", "second-widget")["metadata"]["namespace"] == "other"


def test_config_file_objects_are_children_of_the_config_file(expanded: Expansion) -> None:
    config_file = f"urn:pulumi:test::plinth::plinth:test:Probe${CONFIG_FILE_TYPE}::gizmo-crd"
    (crd,) = [e for e in expanded.entries if e["parent"] == config_file]
    assert crd["name"] == "gizmo-crd:gizmos.gizmos.example.com"
    assert crd["type"] == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def test_capabilities_are_the_environments_version_and_the_plans_crds(
    expanded: Expansion, expanded_without_crds: Expansion
) -> None:
    with_gizmos = one(expanded, "ConfigMap", "probe-capabilities")["data"]
    assert (with_gizmos["kubeVersion"], with_gizmos["hasGizmos"]) == ("v1.31.0", "true")
    alone = one(expanded_without_crds, "ConfigMap", "second-capabilities")["data"]
    assert (alone["kubeVersion"], alone["hasGizmos"]) == ("v1.34.0", "false")


def test_yaml_is_read_as_kubernetes_reads_it(expanded: Expansion) -> None:
    data = one(expanded, "ConfigMap", "probe-capabilities")["data"]
    assert data["builtAt"] == "2024-05-01T10:00:00Z"
    assert data["operator"] == "="


def test_secret_data_is_masked(expanded: Expansion) -> None:
    secret = one(expanded, "Secret", "probe-credentials")
    assert secret["data"]  # its keys stay, so the object keeps its schema's shape
    assert set(secret["data"].values()) == {"[secret]"}
    assert "cHJvYmU=" not in json.dumps(expanded.entries)  # base64 of the username


def test_resource_policy_keep_retains_the_object_on_delete(expanded: Expansion) -> None:
    retained = {e["inputs"]["kind"] for e in children(expanded).values() if e["retain_on_delete"]}
    assert retained == {"Secret"}


def test_values_reach_the_templates(expanded: Expansion) -> None:
    labels = one(expanded, "Service", "probe-web")["metadata"]["labels"]
    assert labels["team"] == "ml"


def test_a_chart_needing_a_newer_kubernetes_is_refused(mirror: ChartSource) -> None:
    with pytest.raises(ConfigError, match=r"requires Kubernetes >=1\.29\.0-0.*runs 1\.28"):
        expand(mirror, [chart()], kubernetes_version="1.28")


def test_values_violating_the_schema_are_refused(mirror: ChartSource) -> None:
    with pytest.raises(ConfigError, match=r"replicas.*minimum"):
        expand(mirror, [chart(values={"replicas": 0})])


def test_a_value_the_chart_does_not_know_is_refused_by_its_path(mirror: ChartSource) -> None:
    with pytest.raises(ConfigError, match=r"the chart has no value service\.prot "):
        expand(mirror, [chart(values={"service": {"prot": 80}})])


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"generatedPassword": True}, r"Secret probe-credentials .*at stringData\.password"),
        ({"generatedToken": True}, r"ConfigMap probe-capabilities .*at data\.token"),
    ],
)
def test_a_chart_rendering_a_random_value_is_refused_naming_it(
    mirror: ChartSource, values: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigError, match=where):
        expand(mirror, [chart(values=values)])


def test_a_declared_dependency_missing_from_the_chart_is_refused(tmp_path: Path) -> None:
    needy = tmp_path / "src" / "plinth-needy"
    shutil.copytree(PROBE, needy)
    chart_yaml = (needy / "Chart.yaml").read_text(encoding="utf-8")
    (needy / "Chart.yaml").write_text(
        chart_yaml.replace("name: plinth-probe", "name: plinth-needy")
        + "dependencies:\n  - name: absent-helper\n    version: 1.2.3\n"
        "    repository: https://charts.example.com\n",
        encoding="utf-8",
    )
    # `helm package` refuses such a chart, so the archive is made as it would be elsewhere.
    source = write_mirror(tmp_path / "mirror")
    with tarfile.open(source.directory / "charts" / "plinth-needy-0.3.1.tgz", "w:gz") as archive:
        archive.add(needy, arcname="plinth-needy")
    with pytest.raises(ConfigError, match="dependencies absent-helper are declared"):
        expand(source, [chart(chart="plinth-needy")])


def chart_with_subcharts() -> helm.ChartInfo:
    """Chart metadata like mlflow 1.11.5's: subcharts behind conditions, none staged."""
    return helm.ChartInfo(
        name="tracker",
        version="1.0.0",
        kube_version="",
        declared_dependencies=(
            {"name": "postgresql", "condition": "postgresql.enabled"},
            {"name": "minio", "condition": "minio.enabled,storage.minio"},
            {"name": "always"},
        ),
        loaded_dependencies=frozenset(),
        values={"postgresql": {"enabled": False}, "minio": {"enabled": False}},
        schema=None,
    )


def test_subcharts_the_release_disables_may_be_left_out_of_the_upstream_folder(
    tmp_path: Path,
) -> None:
    upstream = ChartSource("upstream", tmp_path)
    info = chart_with_subcharts()
    # A dependency without a condition is always installed: it must be there.
    assert unstaged(upstream, info, {}) == {"postgresql", "minio"}
    assert unstaged(upstream, info, {"postgresql": {"enabled": True}}) == {"minio"}


def test_a_mirror_or_repository_chart_must_carry_every_subchart(tmp_path: Path) -> None:
    for kind in ("mirror", "repository"):
        assert unstaged(ChartSource(kind, tmp_path), chart_with_subcharts(), {}) == set()


def labelling(key: str, value: str) -> Any:
    """A transform adding one label to a Kubernetes object."""

    def add_label(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
        props: dict[str, Any] = dict(args.props)
        metadata = dict(props.get("metadata") or {})
        metadata["labels"] = {**(metadata.get("labels") or {}), key: value}
        return pulumi.ResourceTransformResult({**props, "metadata": metadata}, args.opts)

    return add_label


def test_the_charts_and_its_ancestors_transforms_apply_to_every_object(
    mirror: ChartSource,
) -> None:
    probe = chart()
    config_file = entry(CONFIG_FILE_TYPE, "gizmo-crd", file=GIZMO_CRD_URL)
    config_file["parent"] = STACK  # not below the component
    expansion = expand_plan(
        [config_file, probe],
        kubernetes_version="1.31",
        source=mirror,
        transforms={probe["urn"]: [labelling("own", "yes")], COMPONENT: [labelling("up", "yes")]},
    )
    labels = [(e["parent"], e["inputs"]["metadata"].get("labels") or {}) for e in expansion.entries]
    assert all(
        {"own": "yes", "up": "yes"}.items() <= found.items()
        for parent, found in labels
        if parent == probe["urn"]
    )
    assert [found for parent, found in labels if parent == config_file["urn"]] == [{}]


def test_documents_split_as_helm_splits_them() -> None:
    # cert-manager v1.21.1's rbac.yaml renders `---# Permission to ...`: Helm starts a new
    # document there (releaseutil.SplitManifests), where a YAML parser sees one broken one.
    text = "kind: Role\nmetadata: {name: a}\n\n---# a comment\nkind: Role\nmetadata: {name: b}\n"
    assert [o["metadata"]["name"] for o in parse_manifests([text])] == ["a", "b"]
    assert parse_manifests(["---\n# only a comment\n---\n"]) == []


class _RenderCounter:
    """helm.render, counted."""

    def __init__(self) -> None:
        self.calls = 0
        self.original = helm.render

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        self.calls += 1
        return self.original(*args, **kwargs)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _RenderCounter:
    """helm.render counted, with a cache of derived data of this test's own."""
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(tmp_path / "cache"))
    counter = _RenderCounter()
    monkeypatch.setattr(helm, "render", counter)
    return counter


def test_a_chart_rendered_again_with_the_same_inputs_comes_from_the_cache_unchanged(
    mirror: ChartSource, renders: _RenderCounter
) -> None:
    cold = expand(mirror, [chart()])
    assert renders.calls == 2  # rendered twice: the determinism check
    warm = expand(mirror, [chart()])
    assert renders.calls == 2
    assert warm.entries == cold.entries
    assert len(warm.entries) > 5


@pytest.mark.parametrize(
    ("changed", "kubernetes_version"),
    [
        ({"values": {"labels": {"team": "data"}}}, "1.31"),  # a value
        ({"name": "renamed"}, "1.31"),  # the release
        ({"namespace": "elsewhere"}, "1.31"),
        ({"skipCrds": True}, "1.31"),
        ({}, "1.34"),  # the capabilities: the cluster's version
    ],
)
def test_any_input_of_a_render_changed_renders_the_chart_again(
    mirror: ChartSource,
    renders: _RenderCounter,
    changed: dict[str, Any],
    kubernetes_version: str,
) -> None:
    expand(mirror, [chart()])
    expanded = expand(mirror, [chart(**changed)], kubernetes_version=kubernetes_version)
    assert renders.calls == 4
    assert expanded.entries != expand(mirror, [chart()]).entries


def test_a_crd_installed_by_the_plan_changes_the_capabilities_and_renders_again(
    mirror: ChartSource, renders: _RenderCounter
) -> None:
    expand(mirror, [chart()])
    expand(mirror, [entry(CONFIG_FILE_TYPE, "gizmo-crd", file=GIZMO_CRD_URL), chart()])
    assert renders.calls == 4


def test_a_changed_chart_file_renders_the_chart_again(
    tmp_path: Path, renders: _RenderCounter
) -> None:
    edited = tmp_path / "src" / "plinth-probe"
    shutil.copytree(PROBE, edited)
    first = expand(write_mirror(tmp_path / "first", edited), [chart()])
    template = sorted((edited / "templates").glob("*.yaml"))[0]
    template.write_text(
        template.read_text(encoding="utf-8") + "\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: added-by-the-test}\n",
        encoding="utf-8",
    )
    second = expand(write_mirror(tmp_path / "second", edited), [chart()])
    assert renders.calls == 4
    assert len(second.entries) == len(first.entries) + 1


def test_a_random_value_is_refused_on_every_run_not_cached(
    mirror: ChartSource, renders: _RenderCounter
) -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match="generated value"):
            expand(mirror, [chart(values={"generatedPassword": True})])
    assert renders.calls == 4
