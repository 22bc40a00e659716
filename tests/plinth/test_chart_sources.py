"""Where the engine gets a pinned chart or file (plinth/chart_sources.py, PLINTH_CHARTS).

- `repository`: a chart repository served on 127.0.0.1 from a temporary directory (real
  pinned chart archives and an index `helm repo index` wrote); pulled once into the cache,
  checked against the index digest and the pinned version;
- a mirror directory: `charts/<name>-<version>.tgz` and `files/<host>/<path>`;
- the upstream data folder: charts there, with dependencies kept as sibling components
  assembled as `helm dependency build` would.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plinth import helm
from plinth.chart_sources import (
    ChartRequest,
    ChartSource,
    chart_source_environment,
    locate_chart,
    locate_file,
    resolve_source,
)
from plinth.rendering import CHART_TYPE, expand_plan, parse_manifests
from plinth.upstream import manifest, upstream_dir, upstream_file_for_url
from stacks.config import ConfigError
from tests.conftest import ROOT

UPSTREAM = upstream_dir(ROOT)
SPARK_OPERATOR = UPSTREAM / "spark-operator" / "v2.5.2" / "charts" / "spark-operator"
KUBE_PROMETHEUS_STACK = (
    UPSTREAM / "kube-prometheus-stack" / "88.5.3" / "charts" / "kube-prometheus-stack"
)
SPARK_OPERATOR_ARCHIVE = "spark-operator-2.5.2.tgz"


def rendered_objects(source: Path) -> list[dict[str, Any]]:
    """The objects of one release of the chart at `source` (directory or archive)."""
    rendered = helm.render(
        source,
        {},
        release="spark",
        namespace="spark-operator",
        kube_version="v1.33.0",
        api_versions=[],
        include_crds=True,
    )
    return parse_manifests(text for _, text in sorted(rendered.items()))


def one_line(error: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory and records every path asked for."""

    def __init__(self, *args: Any, served: list[str], **kwargs: Any) -> None:
        self.served = served
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.served.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are recorded, not logged."""


@dataclass
class Repository:
    """Chart repositories served over HTTP, one per folder under `root`."""

    root: Path
    port: int = 0
    served: list[str] = field(default_factory=list)

    def url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.port}/{folder}"


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    """`good`: spark-operator 2.5.2 and its index; `tampered`: the same index, but the
    archive was replaced after indexing by one whose values.yaml differs."""
    repo = Repository(tmp_path_factory.mktemp("repository"))
    good, tampered = repo.root / "good", repo.root / "tampered"
    archive = helm.package(SPARK_OPERATOR, good)
    helm.index_repository(good)
    tampered.mkdir()
    shutil.copy2(archive, tampered / archive.name)
    helm.index_repository(tampered)
    altered = tmp_path_factory.mktemp("altered") / "spark-operator"
    shutil.copytree(SPARK_OPERATOR, altered)
    with (altered / "values.yaml").open("a", encoding="utf-8") as values:
        values.write("# altered after the index was written\n")
    shutil.move(helm.package(altered, altered.parent / "out"), tampered / archive.name)

    handler = functools.partial(RecordingHandler, served=repo.served, directory=str(repo.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    repo.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield repo
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ChartSource:
    """PLINTH_CHARTS=repository with an empty cache."""
    monkeypatch.setenv("PLINTH_CHARTS", "repository")
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(tmp_path / "cache"))
    source = resolve_source(ROOT)
    assert source == ChartSource("repository", (tmp_path / "cache").resolve())
    return source


def test_a_pulled_chart_is_cached_and_renders_as_its_directory(
    repository: Repository, cache: ChartSource
) -> None:
    request = ChartRequest("spark-operator", "2.5.2", repository.url("good"))
    asked_before = len(repository.served)
    archive = locate_chart(cache, request)
    pulled_with = repository.served[asked_before:]
    assert archive == cache.directory / "charts" / SPARK_OPERATOR_ARCHIVE
    assert {"/good/index.yaml", f"/good/{SPARK_OPERATOR_ARCHIVE}"} <= set(pulled_with)

    assert locate_chart(cache, request) == archive
    assert repository.served[asked_before:] == pulled_with  # the second call asked nothing

    assert rendered_objects(archive) == rendered_objects(SPARK_OPERATOR)


def test_an_archive_not_matching_the_index_digest_is_refused_and_not_cached(
    repository: Repository, cache: ChartSource
) -> None:
    request = ChartRequest("spark-operator", "2.5.2", repository.url("tampered"))
    with pytest.raises(ConfigError) as error:
        locate_chart(cache, request)
    listed = helm.repository_index(repository.url("tampered"))["entries"]["spark-operator"]
    assert "sha256" in one_line(error)
    assert listed[0]["digest"] in str(error.value)
    assert not (cache.directory / "charts" / SPARK_OPERATOR_ARCHIVE).exists()


def test_a_version_the_repository_does_not_have_is_refused(
    repository: Repository, cache: ChartSource
) -> None:
    with pytest.raises(ConfigError) as error:
        locate_chart(cache, ChartRequest("spark-operator", "2.5.1", repository.url("good")))
    assert "cannot pull chart spark-operator 2.5.1" in one_line(error)
    assert not (cache.directory / "charts").exists()


def test_a_cached_archive_of_another_version_is_refused(
    repository: Repository, cache: ChartSource
) -> None:
    (cache.directory / "charts").mkdir(parents=True)
    shutil.copy2(
        repository.root / "good" / SPARK_OPERATOR_ARCHIVE,
        cache.directory / "charts" / "spark-operator-2.5.1.tgz",
    )
    asked_before = len(repository.served)
    with pytest.raises(ConfigError) as error:
        locate_chart(cache, ChartRequest("spark-operator", "2.5.1", repository.url("good")))
    assert "is version 2.5.2, not the pinned 2.5.1" in one_line(error)
    assert len(repository.served) == asked_before


# --- a mirror directory --------------------------------------------------------------------


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repository: Repository) -> ChartSource:
    """PLINTH_CHARTS=<a mirror> holding spark-operator 2.5.2 and one CRD file."""
    charts = tmp_path / "mirror" / "charts"
    charts.mkdir(parents=True)
    shutil.copy2(repository.root / "good" / SPARK_OPERATOR_ARCHIVE, charts)
    crd = tmp_path / "mirror" / "files" / "crds.example.com" / "gizmos" / "v2" / "gizmos.yaml"
    crd.parent.mkdir(parents=True)
    crd.write_text("kind: CustomResourceDefinition\n", encoding="utf-8")
    monkeypatch.setenv("PLINTH_CHARTS", str(tmp_path / "mirror"))
    source = resolve_source(ROOT)
    assert source == ChartSource("mirror", (tmp_path / "mirror").resolve())
    return source


def test_a_mirror_serves_a_chart_by_name_and_version(mirror: ChartSource) -> None:
    request = ChartRequest("spark-operator", "2.5.2", "https://kubeflow.github.io/spark-operator")
    archive = locate_chart(mirror, request)
    assert archive == mirror.directory / "charts" / SPARK_OPERATOR_ARCHIVE
    assert helm.chart_info(archive).version == "2.5.2"


def test_a_chart_missing_from_the_mirror_is_a_one_line_error(mirror: ChartSource) -> None:
    request = ChartRequest("spark-operator", "2.6.0", "https://kubeflow.github.io/spark-operator")
    with pytest.raises(ConfigError) as error:
        locate_chart(mirror, request)
    assert "charts/spark-operator-2.6.0.tgz not found in the mirror" in one_line(error)


def test_a_mirrored_archive_of_another_version_is_refused(mirror: ChartSource) -> None:
    shutil.copy2(
        mirror.directory / "charts" / SPARK_OPERATOR_ARCHIVE,
        mirror.directory / "charts" / "spark-operator-2.4.0.tgz",
    )
    with pytest.raises(ConfigError) as error:
        locate_chart(mirror, ChartRequest("spark-operator", "2.4.0", None))
    assert "is version 2.5.2, not the pinned 2.4.0" in one_line(error)


def test_a_mirror_serves_a_file_by_host_and_path(mirror: ChartSource) -> None:
    found = locate_file(mirror, "https://crds.example.com/gizmos/v2/gizmos.yaml")
    assert (
        found == mirror.directory / "files" / "crds.example.com" / "gizmos" / "v2" / "gizmos.yaml"
    )
    with pytest.raises(ConfigError) as error:
        locate_file(mirror, "https://crds.example.com/gizmos/v3/gizmos.yaml")
    assert "files/crds.example.com/gizmos/v3/gizmos.yaml" in one_line(error)


# --- choosing the source -------------------------------------------------------------------


def test_unset_means_the_upstream_folder_when_there_is_one_else_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PLINTH_CHARTS", raising=False)
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(UPSTREAM))
    assert resolve_source(ROOT) == ChartSource("upstream", UPSTREAM)
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(tmp_path))  # no MANIFEST.yaml there
    assert resolve_source(ROOT) == ChartSource("repository", (tmp_path / "cache").resolve())


def test_a_run_elsewhere_is_pointed_at_the_same_upstream_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `plinth diff --rev` synthesizes an export in a scratch folder, away from the
    # checkout's ../shared/upstream: it must not fall back to downloading.
    monkeypatch.delenv("PLINTH_CHARTS", raising=False)
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(UPSTREAM))
    assert chart_source_environment(ROOT) == {"PLINTH_UPSTREAM_DIR": str(UPSTREAM)}
    monkeypatch.setenv("PLINTH_CHARTS", "repository")  # passed through as it is
    assert chart_source_environment(ROOT) == {}
    monkeypatch.delenv("PLINTH_CHARTS")
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(tmp_path))  # no upstream data: repository
    assert chart_source_environment(ROOT) == {}


def test_a_directory_with_a_manifest_is_an_upstream_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLINTH_CHARTS", str(UPSTREAM))
    assert resolve_source(ROOT) == ChartSource("upstream", UPSTREAM)


def test_a_setting_naming_no_directory_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PLINTH_CHARTS", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="no such directory"):
        resolve_source(ROOT)


# --- the upstream data folder --------------------------------------------------------------

UPSTREAM_SOURCE = ChartSource("upstream", UPSTREAM)
KPS_DEPENDENCIES = {
    "crds",
    "kube-state-metrics",
    "prometheus-node-exporter",
    "grafana",
    "prometheus-windows-exporter",
}


def test_sibling_dependencies_are_assembled_into_a_scratch_copy() -> None:
    located = locate_chart(UPSTREAM_SOURCE, ChartRequest("kube-prometheus-stack", "88.5.3", None))
    assert located != KUBE_PROMETHEUS_STACK
    assert helm.chart_info(located).loaded_dependencies == KPS_DEPENDENCIES
    # The upstream folder itself stays as upstream ships it: only the vendored `crds`.
    assert helm.chart_info(KUBE_PROMETHEUS_STACK).loaded_dependencies == {"crds"}


def kube_prometheus_stack(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects of kube-prometheus-stack 88.5.3 from the upstream folder (CRDs skipped:
    parsing them is slow and they are not what is looked at here)."""
    entry = {
        "urn": f"urn:pulumi:test::plinth::plinth:test:Monitoring${CHART_TYPE}::kps",
        "type": CHART_TYPE,
        "name": "kps",
        "parent": "urn:pulumi:test::plinth::plinth:test:Monitoring::monitoring",
        "provider": "urn:pulumi:test::plinth::pulumi:providers:kubernetes::k8s::k8s-id",
        "providers": {},
        "protect": False,
        "retain_on_delete": False,
        "inputs": {
            "chart": "kube-prometheus-stack",
            "version": "88.5.3",
            "namespace": "monitoring",
            "skipCrds": True,
            "values": {"grafana": {"enabled": False}, **values},
        },
    }
    expansion = expand_plan([entry], kubernetes_version="1.33", source=UPSTREAM_SOURCE)
    return [child["inputs"] for child in expansion.entries]


def workloads(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (obj["kind"], obj["metadata"]["labels"]["app.kubernetes.io/name"])
        for obj in objects
        if obj["kind"] in {"Deployment", "DaemonSet"}
    }


def test_an_upstream_chart_renders_its_sibling_subcharts_objects() -> None:
    assert {
        ("Deployment", "kube-state-metrics"),
        ("DaemonSet", "prometheus-node-exporter"),
    } <= workloads(kube_prometheus_stack({}))


def test_a_disabled_sibling_subchart_renders_nothing() -> None:
    without = workloads(kube_prometheus_stack({"kubeStateMetrics": {"enabled": False}}))
    assert ("Deployment", "kube-state-metrics") not in without
    assert ("DaemonSet", "prometheus-node-exporter") in without


def test_a_chart_version_the_upstream_folder_lacks_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        locate_chart(UPSTREAM_SOURCE, ChartRequest("spark-operator", "9.9.9", None))
    assert "versions there: 2.5.2" in one_line(error)


def test_an_upstream_file_is_found_by_its_pinned_url() -> None:
    (crd,) = [
        entry
        for entry in manifest(UPSTREAM)
        if entry.file == "spark-operator/v2.5.2/crds/sparkoperator.k8s.io_sparkapplications.yaml"
    ]
    located = locate_file(UPSTREAM_SOURCE, crd.raw_url)
    # The chart ships the same upstream file too: either copy is that file.
    assert located.is_relative_to(UPSTREAM)
    assert located.read_bytes() == (UPSTREAM / crd.file).read_bytes()
    elsewhere = crd.raw_url.replace(f"/{crd.tag}/", "/main/")
    with pytest.raises(ConfigError) as error:
        locate_file(UPSTREAM_SOURCE, elsewhere)
    assert "not in" in one_line(error)


def test_a_url_listed_twice_stands_for_the_crd_file(upstream: Path) -> None:
    # Istio's crd-all.gen.yaml is in the upstream data as the release's CRD file and inside
    # the base chart: the CRD file is the one a ConfigFile applies.
    url = (
        "https://raw.githubusercontent.com/istio/istio/1.30.3/"
        "manifests/charts/base/files/crd-all.gen.yaml"
    )
    found = upstream_file_for_url(upstream, url)
    assert found is not None
    assert found.file == "istio/1.30.3/crds/crd-all.gen.yaml"
