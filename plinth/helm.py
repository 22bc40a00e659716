"""The one adapter to the Helm engine: helm-python-sdk (Helm's Go SDK behind a C ABI).

Nothing else in Plinth imports `helm_python`, so the engine can be swapped here alone.
What this module offers is what the offline engine needs of Helm and nothing more: load a
chart (a directory or a `.tgz`), render it as `helm template` would for one release with
given capabilities (Kubernetes version, extra API versions), package a chart, index a
directory of chart archives, and pull one from a repository.

`.Capabilities` can be set only through the library's native render options (its public
`render()` does not take them): private API, pinned with the package and tested in
`tests/plinth/test_helm.py`. A render changes the loaded chart handle (disabled subcharts are
dropped from it), so every render loads a fresh handle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plinth import cache
from stacks.config import ConfigError

try:
    import helm_python
    from helm_python import _native

    IMPORT_ERROR: str | None = None
except (ImportError, OSError) as error:  # the shared library may not load on this platform
    IMPORT_ERROR = f"{type(error).__name__}: {error}"


class HelmUnavailableError(RuntimeError):
    """The Helm engine cannot run here (helm-python-sdk missing or its library not loading)."""


def require_engine() -> None:
    """Raise HelmUnavailableError, with the reason, when the Helm engine cannot run."""
    if IMPORT_ERROR is not None:
        raise HelmUnavailableError(
            f"the Helm engine (PyPI helm-python-sdk) cannot be loaded ({IMPORT_ERROR}); "
            "install Plinth with `make install` on Linux x86_64 or arm64"
        )


def engine_version() -> str:
    """Helm SDK version of the engine, e.g. `v4.2.3`."""
    require_engine()
    return str(helm_python.helm_sdk_version())


@dataclass(frozen=True)
class ChartInfo:
    """What Chart.yaml and the loaded chart say about a chart."""

    name: str
    version: str
    kube_version: str  # the `kubeVersion` constraint, "" when none
    declared_dependencies: tuple[Mapping[str, Any], ...]  # Chart.yaml `dependencies`
    loaded_dependencies: frozenset[str]  # names of the subcharts found in charts/
    values: Mapping[str, Any]  # the chart's default values.yaml
    schema: Mapping[str, Any] | None  # values.schema.json, where shipped


def _load(source: Path) -> Any:
    require_engine()
    try:
        if source.is_dir():
            return helm_python.Chart.load(source)
        return helm_python.Chart.load_archive(source.read_bytes())
    except helm_python.HelmError as error:
        raise ConfigError(f"{source}: not a loadable Helm chart ({error})") from None


def chart_info(source: Path, digest: str | None = None) -> ChartInfo:
    """Metadata, default values and schema of the chart at `source` (directory or .tgz).

    Loading a chart parses every file of it (megabytes with CRDs): the answer is cached by
    the chart's files (`digest`, `cache.tree_digest(source)` when not given), the Helm
    SDK's version and this module's code (plinth/cache.py).
    """
    require_engine()
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    files = digest or cache.tree_digest(source)
    key = json.dumps([files, engine_version(), code]).encode()
    cached = cache.lookup("chart-info", key)
    if cached is not None:
        return _info_from_json(cached)
    info = _loaded_info(source)
    text = json.dumps(
        dataclasses.asdict(info) | {"loaded_dependencies": sorted(info.loaded_dependencies)}
    )
    if _info_from_json(text) == info:  # a value JSON cannot hold (an int map key): not cached
        cache.store("chart-info", key, text)
    return info


def _info_from_json(text: str) -> ChartInfo:
    fields = json.loads(text)
    return ChartInfo(
        **fields
        | {
            "declared_dependencies": tuple(fields["declared_dependencies"]),
            "loaded_dependencies": frozenset(fields["loaded_dependencies"]),
        }
    )


def _loaded_info(source: Path) -> ChartInfo:
    chart = _load(source)
    metadata = chart.metadata
    return ChartInfo(
        name=str(metadata.get("name", "")),
        version=str(metadata.get("version", "")),
        kube_version=str(metadata.get("kubeVersion") or ""),
        declared_dependencies=tuple(metadata.get("dependencies") or ()),
        loaded_dependencies=frozenset(str(d.get("name")) for d in chart.dependencies),
        values=chart.values,
        schema=chart.schema,
    )


def render(
    source: Path,
    values: Mapping[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: Sequence[str],
    include_crds: bool,
) -> dict[str, str]:
    """Template path -> rendered text, for one release of the chart at `source`.

    The `crds/` files of the chart and of its enabled subcharts are included (under their
    path in the chart, e.g. `<chart>/crds/<file>`) when `include_crds`. Values are validated
    against the chart's values.schema.json (and its subcharts') first, as `helm install` does.
    """
    chart = _load(source)
    options = {
        "name": release,
        "namespace": namespace,
        "kube_version": kube_version,
        "api_versions": list(api_versions),
        "is_install": True,
    }
    payload = json.dumps(dict(values), sort_keys=True)
    try:
        _native.call_status("helm_schema_validate", chart._raw(), payload)
        rendered: dict[str, str] = json.loads(
            _native.call_string("helm_render", chart._raw(), payload, json.dumps(options))
        )
    except helm_python.HelmError as error:
        message = " ".join(str(error).split())
        raise ConfigError(f"chart {chart.name} {chart.version}: {message}") from None
    if include_crds:
        # The rendered handle: its disabled subcharts are dropped, and so are their CRDs
        # (`helm install` takes them from the chart after the same processing).
        for crd in chart.crds:
            rendered[crd["filename"]] = crd["data"]
    return rendered


def package(chart_dir: Path, destination: Path) -> Path:
    """`helm package`: the chart directory as `<destination>/<name>-<version>.tgz`."""
    require_engine()
    destination.mkdir(parents=True, exist_ok=True)
    return Path(helm_python.package(chart_dir, destination=destination))


def archive_digest(archive: Path) -> str:
    """The sha256 hex digest of a chart archive, as a repository index records it."""
    require_engine()
    return str(helm_python.digest(archive)).removeprefix("sha256:")


def index_repository(directory: Path, base_url: str | None = None) -> Mapping[str, Any]:
    """`helm repo index`: write `directory/index.yaml` listing every chart archive there
    (with its sha256 digest), URLs relative unless `base_url`; the index, parsed. For a
    mirror or a test repository served over HTTP."""
    require_engine()
    index: Mapping[str, Any] = helm_python.repo_index_generate(directory, base_url=base_url)
    return index


def repository_index(repo_url: str) -> Mapping[str, Any]:
    """A chart repository's index.yaml, parsed."""
    require_engine()
    try:
        index: Mapping[str, Any] = helm_python.repo_index(repo_url)
    except helm_python.HelmError as error:
        raise ConfigError(f"{repo_url}: cannot read the chart repository index ({error})") from None
    return index


def pull(chart: str, version: str, repo_url: str | None, destination: Path) -> Path:
    """Download one chart version (an HTTP repository's chart, or an oci:// reference)."""
    require_engine()
    destination.mkdir(parents=True, exist_ok=True)
    try:
        helm_python.pull(chart, destination=destination, version=version, repo_url=repo_url)
    except helm_python.HelmError as error:
        where = repo_url or chart
        raise ConfigError(
            f"cannot pull chart {chart} {version} from {where} ({error}); check the network, "
            "or point PLINTH_CHARTS at a directory of chart archives (air-gapped)"
        ) from None
    name = chart.rstrip("/").rsplit("/", 1)[-1]
    pulled = sorted(destination.glob(f"{name}-*.tgz"))
    if not pulled:
        raise ConfigError(f"pulling chart {chart} {version} wrote no archive to {destination}")
    return pulled[-1]
