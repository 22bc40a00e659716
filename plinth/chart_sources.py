"""Where the engine gets a pinned chart and a pinned upstream file: one setting, PLINTH_CHARTS.

- unset: the upstream data folder when there is one (`PLINTH_UPSTREAM_DIR`, default
  `../shared/upstream` beside the checkout), else as `repository`;
- `repository`: the chart's pinned repository (an HTTP index or `oci://`) and the file's
  pinned URL, downloaded once into the cache (`PLINTH_CHART_CACHE`, default
  `~/.cache/plinth`);
- a directory with MANIFEST.yaml: that upstream data folder;
- any other directory: an air-gap mirror holding `charts/<chart>-<version>.tgz`, and each
  file at `files/<host>/<path of its URL>`.

Whatever the source, a chart must be the pinned version (Chart.yaml says so, or the
upstream release directory does for charts whose Chart.yaml carries a placeholder), and a
chart downloaded from an HTTP repository must match the sha256 digest its index records.
Dependencies that the upstream folder keeps as sibling components are copied into a scratch
copy's `charts/`, as `helm dependency build` would.
"""

from __future__ import annotations

import atexit
import fnmatch
import functools
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from plinth import helm
from plinth.cache import cache_dir
from plinth.upstream import UpstreamChartDir, chart_dirs, upstream_dir, upstream_file_for_url
from stacks.config import ConfigError

SETTING = "PLINTH_CHARTS"
REPOSITORY = "repository"


@dataclass(frozen=True)
class ChartRequest:
    """A chart as a `helm.sh/v4:Chart` names it."""

    chart: str  # a name in `repo`, or an oci:// reference
    version: str
    repo: str | None

    @property
    def name(self) -> str:
        return self.chart.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ChartSource:
    """One resolved setting: a kind (upstream, repository, mirror) and its directory."""

    kind: str
    directory: Path

    def describe(self) -> str:
        return f"{self.kind} {self.directory}"


def resolve_source(project_root: Path) -> ChartSource:
    """The chart source PLINTH_CHARTS chooses (see the module docstring)."""
    setting = os.environ.get(SETTING, "").strip()
    if not setting:
        folder = upstream_dir(project_root)
        if (folder / "MANIFEST.yaml").is_file():
            return ChartSource("upstream", folder)
        setting = REPOSITORY
    if setting == REPOSITORY:
        return ChartSource("repository", cache_dir())
    directory = Path(setting).expanduser().resolve()
    if not directory.is_dir():
        raise ConfigError(
            f"{SETTING}={setting}: no such directory; set it to 'repository', an upstream data "
            "folder (with MANIFEST.yaml) or a mirror directory, or unset it"
        )
    kind = "upstream" if (directory / "MANIFEST.yaml").is_file() else "mirror"
    return ChartSource(kind, directory)


def chart_source_environment(project_root: Path) -> dict[str, str]:
    """Environment variables that make a Plinth run in another directory (a revision
    exported for `plinth diff --rev`) take its charts from where this project does."""
    source = resolve_source(project_root)
    if source.kind == "upstream" and not os.environ.get(SETTING):
        return {"PLINTH_UPSTREAM_DIR": str(source.directory)}
    return {}


def locate_chart(source: ChartSource, request: ChartRequest) -> Path:
    """A chart directory or archive of exactly `request`'s version, ready to render."""
    if source.kind == "upstream":
        return _assembled_upstream_chart(source.directory, request.name, request.version)
    if source.kind == "mirror":
        archive = _mirror_archive(source.directory, request)
    else:
        archive = _cached_pull(source.directory, request)
    _check_version(archive, request)
    return archive


def locate_file(source: ChartSource, url: str) -> Path:
    """The local copy of the pinned file at `url` (a CRD file a ConfigFile applies)."""
    if source.kind == "upstream":
        entry = upstream_file_for_url(source.directory, url)
        if entry is None:
            raise ConfigError(
                f"{url}: not in {source.directory}/MANIFEST.yaml; add the pinned file to the "
                "upstream data, or set PLINTH_CHARTS=repository"
            )
        return source.directory / entry.file
    parts = urlsplit(url)
    local = source.directory / "files" / parts.netloc / parts.path.lstrip("/")
    if source.kind == "mirror" and not local.is_file():
        raise ConfigError(f"{url}: not in the mirror (expected {local}); copy the file there")
    if not local.is_file():
        _download(url, local)
    return local


# --- the upstream data folder ------------------------------------------------------------


def _upstream_chart(root: Path, name: str, version: str) -> UpstreamChartDir:
    for chart in chart_dirs(root):
        if chart.name == name and chart.is_version(version):
            return chart
    known = sorted({c.directory_version for c in chart_dirs(root) if c.name == name})
    raise ConfigError(
        f"chart {name} {version} is not in {root} (versions there: {', '.join(known) or 'none'}); "
        "add it to the upstream data, pin a version that is there, or set PLINTH_CHARTS"
    )


@functools.cache
def _assembled_upstream_chart(root: Path, name: str, version: str) -> Path:
    """The upstream chart directory itself, or a scratch copy with its dependencies that the
    upstream folder keeps as sibling components copied into `charts/`."""
    chart = _upstream_chart(root, name, version)
    info = helm.chart_info(chart.path)
    missing = [
        d for d in info.declared_dependencies if d.get("name") not in info.loaded_dependencies
    ]
    if not missing:
        return chart.path
    scratch = Path(tempfile.mkdtemp(prefix=f"plinth-chart-{name}-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    copy = scratch / name
    shutil.copytree(chart.path, copy, copy_function=_link_or_copy)
    for dependency in missing:
        sibling = _sibling_dependency(root, str(dependency["name"]), str(dependency["version"]))
        if sibling is not None:
            shutil.copytree(
                sibling.path, copy / "charts" / sibling.name, copy_function=_link_or_copy
            )
    return copy


def _link_or_copy(source: str, destination: str) -> None:
    """A hard link to the upstream file (the scratch copy is only read, and a link copies
    no data: a chart with its dependencies is megabytes), a copy across file systems."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _sibling_dependency(root: Path, name: str, constraint: str) -> UpstreamChartDir | None:
    """The upstream component chart `name` whose version meets `constraint` (exact, a
    `x`/`*` wildcard as in `0.12.*`, or a partial version, which Helm's semver constraints
    read as a wildcard: `0.0` is `0.0.*`); None when the folder does not hold it (the render
    then fails on the missing dependency, as `helm install` does)."""
    pattern = constraint.removeprefix("v").replace("x", "*")
    pattern += ".*" * (3 - len(pattern.split(".")))
    matches = [
        chart
        for chart in chart_dirs(root)
        if chart.name == name
        and fnmatch.fnmatchcase(chart.stated_version or chart.directory_version, pattern)
    ]
    return max(matches, key=lambda chart: chart.stated_version, default=None)


# --- a mirror directory and the repository cache -----------------------------------------


def _archive_name(request: ChartRequest) -> str:
    return f"{request.name}-{request.version}.tgz"


def _mirror_archive(directory: Path, request: ChartRequest) -> Path:
    archive = directory / "charts" / _archive_name(request)
    if not archive.is_file():
        raise ConfigError(
            f"chart {request.name} {request.version}: {archive} not found in the mirror; "
            f"copy the chart archive there (helm pull {request.chart} --version {request.version})"
        )
    return archive


def _cached_pull(cache: Path, request: ChartRequest) -> Path:
    archive = cache / "charts" / _archive_name(request)
    if archive.is_file():
        return archive
    with tempfile.TemporaryDirectory(prefix="plinth-pull-") as scratch:
        pulled = helm.pull(request.chart, request.version, request.repo, Path(scratch))
        if request.repo is not None:
            _check_digest(pulled, request)
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(pulled, archive)
    return archive


def _check_digest(archive: Path, request: ChartRequest) -> None:
    """The archive's sha256 must be the one the repository index lists for that version."""
    assert request.repo is not None  # noqa: S101 (callers pass HTTP repositories only)
    entries = helm.repository_index(request.repo).get("entries", {}).get(request.name, [])
    wanted = request.version.removeprefix("v")
    listed = [e for e in entries if str(e.get("version", "")).removeprefix("v") == wanted]
    expected = str(listed[0].get("digest") or "") if listed else ""
    if expected and helm.archive_digest(archive) != expected:
        raise ConfigError(
            f"chart {request.name} {request.version} from {request.repo}: the archive's sha256 "
            f"is not the {expected} its index lists; refusing it (delete the cache and retry)"
        )


def _check_version(archive: Path, request: ChartRequest) -> None:
    stated = helm.chart_info(archive).version
    if stated.removeprefix("v") != request.version.removeprefix("v"):
        raise ConfigError(
            f"{archive}: chart {request.name} is version {stated}, not the pinned "
            f"{request.version}; replace the archive with the pinned version"
        )


def _download(url: str, destination: Path) -> None:
    if urlsplit(url).scheme != "https":
        raise ConfigError(f"{url}: Plinth downloads pinned files over https only")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https only)
            data = response.read()
    except OSError as error:
        raise ConfigError(
            f"{url}: cannot download ({error}); check the network or use a mirror (PLINTH_CHARTS)"
        ) from None
    partial = destination.with_suffix(destination.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(destination)
