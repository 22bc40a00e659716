"""The Helm adapter (plinth/helm.py) on a small hand-written chart and a real pinned one.

What is pinned here is what the offline engine relies on from helm-python-sdk, including
its private render options: `.Capabilities` set from the environment, `crds/` as
`helm install` takes them, schema validation, and a chart rendering the same from its
directory and from the archive `helm package` makes of it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from plinth import helm
from plinth.cli import EXIT_BAD_INPUT, main
from plinth.rendering import CHART_TYPE, parse_manifests
from plinth.upstream import upstream_dir
from stacks.config import ConfigError
from tests.conftest import ROOT

PROBE = ROOT / "tests" / "fixtures" / "charts" / "plinth-probe"
SPARK_OPERATOR = upstream_dir(ROOT) / "spark-operator" / "v2.5.2" / "charts" / "spark-operator"


def render(
    source: Path,
    values: Mapping[str, Any] | None = None,
    *,
    kube_version: str = "v1.31.0",
    api_versions: Sequence[str] = (),
    include_crds: bool = True,
) -> dict[str, str]:
    return helm.render(
        source,
        values or {},
        release="rel",
        namespace="apps",
        kube_version=kube_version,
        api_versions=api_versions,
        include_crds=include_crds,
    )


def objects(rendered: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every object of a render, in template path order."""
    return parse_manifests(text for _, text in sorted(rendered.items()))


def named(rendered: Mapping[str, str], kind: str, name: str) -> dict[str, Any]:
    matches = [
        obj
        for obj in objects(rendered)
        if obj.get("kind") == kind and obj["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} rendered"
    return matches[0]


def kinds(rendered: Mapping[str, str]) -> set[str]:
    return {str(obj.get("kind")) for obj in objects(rendered)}


def test_the_engine_is_the_pinned_helm_sdk() -> None:
    assert helm.engine_version().startswith("v4.2.")


def test_chart_info_reads_chart_yaml_values_and_schema() -> None:
    info = helm.chart_info(PROBE)
    assert (info.name, info.version, info.kube_version) == ("plinth-probe", "0.3.1", ">=1.29.0-0")
    assert info.values["service"] == {"port": 8080}
    assert info.schema is not None
    assert info.schema["properties"]["replicas"]["minimum"] == 1
    assert info.declared_dependencies == ()
    assert info.loaded_dependencies == frozenset()


def test_chart_info_from_the_cache_equals_the_loaded_and_follows_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(tmp_path / "cache"))
    chart = tmp_path / "plinth-probe"
    shutil.copytree(PROBE, chart)
    loaded = helm.chart_info(chart)
    assert list((tmp_path / "cache" / "derived" / "chart-info").iterdir())
    cached = helm.chart_info(chart)
    assert cached == loaded
    chart_yaml = chart / "Chart.yaml"
    chart_yaml.write_text(
        chart_yaml.read_text(encoding="utf-8").replace("version: 0.3.1", "version: 0.3.2"),
        encoding="utf-8",
    )
    assert helm.chart_info(chart).version == "0.3.2"


def test_capabilities_kube_version_is_the_one_passed() -> None:
    for version in ("v1.31.0", "v1.34.2"):
        data = named(render(PROBE, kube_version=version), "ConfigMap", "rel-capabilities")["data"]
        assert data["kubeVersion"] == version


def test_capabilities_api_versions_has_the_versions_passed() -> None:
    seen = named(
        render(PROBE, api_versions=["gizmos.example.com/v2", "gizmos.example.com/v2/Gizmo"]),
        "ConfigMap",
        "rel-capabilities",
    )["data"]
    assert seen["hasGizmos"] == "true"
    unseen = named(render(PROBE), "ConfigMap", "rel-capabilities")["data"]
    assert unseen["hasGizmos"] == "false"


def test_release_name_and_namespace_reach_the_templates() -> None:
    rendered = render(PROBE)
    assert named(rendered, "ConfigMap", "rel-capabilities")["data"]["releaseNamespace"] == "apps"
    assert named(rendered, "Deployment", "rel-web")["spec"]["replicas"] == 1


def test_chart_crds_are_included_only_when_asked() -> None:
    with_crds, without = render(PROBE, include_crds=True), render(PROBE, include_crds=False)
    crd = named(with_crds, "CustomResourceDefinition", "widgets.probe.plinth.io")
    assert crd["spec"]["scope"] == "Cluster"
    assert "CustomResourceDefinition" not in kinds(without)
    assert kinds(with_crds) - kinds(without) == {"CustomResourceDefinition"}


@pytest.fixture(scope="module")
def parent_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chart whose one dependency, the probe chart (which ships crds/), is conditional."""
    parent = tmp_path_factory.mktemp("parent") / "plinth-parent"
    (parent / "templates").mkdir(parents=True)
    (parent / "Chart.yaml").write_text(
        "apiVersion: v2\nname: plinth-parent\nversion: 1.0.0\n"
        "dependencies:\n  - name: plinth-probe\n    version: 0.3.1\n"
        "    condition: probe.enabled\n",
        encoding="utf-8",
    )
    (parent / "values.yaml").write_text("probe:\n  enabled: true\n", encoding="utf-8")
    (parent / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: parent\n", encoding="utf-8"
    )
    shutil.copytree(PROBE, parent / "charts" / "plinth-probe")
    return parent


def test_crds_of_a_disabled_subchart_are_not_included(parent_chart: Path) -> None:
    enabled = render(parent_chart, {"probe": {"enabled": True}})
    disabled = render(parent_chart, {"probe": {"enabled": False}})
    assert {"CustomResourceDefinition", "Deployment", "ConfigMap"} <= kinds(enabled)
    assert kinds(disabled) == {"ConfigMap"}


def test_values_violating_the_schema_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"plinth-probe 0\.3\.1.*replicas.*minimum"):
        render(PROBE, {"replicas": 0})


def test_a_directory_that_is_not_a_chart_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a loadable Helm chart"):
        helm.chart_info(tmp_path)


def test_package_writes_name_version_tgz_and_digest_is_its_sha256(tmp_path: Path) -> None:
    archive = helm.package(PROBE, tmp_path / "out")
    assert archive == tmp_path / "out" / "plinth-probe-0.3.1.tgz"
    assert helm.archive_digest(archive) == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_index_repository_lists_each_archive_with_its_digest(tmp_path: Path) -> None:
    archive = helm.package(PROBE, tmp_path)
    index = helm.index_repository(tmp_path)
    (entry,) = index["entries"]["plinth-probe"]
    assert entry["version"] == "0.3.1"
    assert entry["digest"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert entry["urls"] == ["plinth-probe-0.3.1.tgz"]
    assert yaml.safe_load((tmp_path / "index.yaml").read_text(encoding="utf-8"))["entries"]


@pytest.fixture(scope="module")
def spark_operator_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return helm.package(SPARK_OPERATOR, tmp_path_factory.mktemp("packaged"))


def test_a_packaged_chart_renders_the_objects_of_its_directory(
    spark_operator_archive: Path,
) -> None:
    values = {"webhook": {"enable": True}}
    from_directory = objects(render(SPARK_OPERATOR, values))
    from_archive = objects(render(spark_operator_archive, values))
    assert len(from_directory) > 10
    assert {obj["kind"] for obj in from_directory} >= {"Deployment", "ClusterRole", "Service"}
    assert from_archive == from_directory


def test_a_packaged_chart_has_the_metadata_of_its_directory(spark_operator_archive: Path) -> None:
    from_directory = helm.chart_info(SPARK_OPERATOR)
    from_archive = helm.chart_info(spark_operator_archive)
    assert (from_archive.name, from_archive.version) == ("spark-operator", "2.5.2")
    assert from_archive == from_directory


def test_without_the_engine_every_call_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helm, "IMPORT_ERROR", "OSError: libhelm_c.so: cannot open")
    with pytest.raises(helm.HelmUnavailableError, match=r"libhelm_c\.so: cannot open"):
        helm.require_engine()
    with pytest.raises(helm.HelmUnavailableError, match="helm-python-sdk"):
        render(PROBE)


# --- no silent fallback when the engine cannot run -----------------------------------------


def test_without_the_engine_synth_warns_and_check_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(ROOT))
    monkeypatch.setattr(helm, "IMPORT_ERROR", "OSError: libhelm_c.so: cannot open")

    assert main(["synth", "local", "--out", str(tmp_path / "local")]) == 0
    warning = capsys.readouterr().err.splitlines()
    assert len(warning) == 1
    assert warning[0].startswith("plinth: warning: charts not rendered")
    assert "libhelm_c.so: cannot open" in warning[0]
    plan = tmp_path / "local" / "plan.json"
    document = json.loads(plan.read_text(encoding="utf-8"))
    assert "libhelm_c.so" in document["incomplete"]
    charts = {r["urn"] for r in document["resources"] if r["type"] == CHART_TYPE}
    assert charts  # the Chart resources are there, the objects they deploy are not
    assert not [r["urn"] for r in document["resources"] if r["parent"] in charts]

    assert main(["check", "local"]) == EXIT_BAD_INPUT
    refusal = capsys.readouterr().err.splitlines()
    assert len(refusal) == 1
    assert refusal[0].startswith("plinth: error: review incomplete, refusing it")

    assert main(["check", "local", "--plan", str(plan)]) == EXIT_BAD_INPUT
    refusal = capsys.readouterr().err.splitlines()
    assert len(refusal) == 1
    assert "an incomplete plan" in refusal[0]
