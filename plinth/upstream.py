"""The upstream data folder (`../shared/upstream` layout): MANIFEST.yaml and its files.

Unmodified upstream files copied from pinned release tags (see that folder's README):
CRDs, and complete Helm charts with their dependencies as sibling components. The engine
renders charts and CRD files from it; the tests validate against it. Where it lives is one
setting, `PLINTH_UPSTREAM_DIR` (default: `../shared/upstream` beside the checkout).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from plinth.cache import derived

try:  # libyaml reads the 300 KB MANIFEST.yaml in a few milliseconds, pure Python in seconds
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover (PyYAML built without libyaml)
    from yaml import SafeLoader  # type: ignore[assignment]

RAW_GITHUB = "https://raw.githubusercontent.com/"


def upstream_dir(project_root: Path) -> Path:
    """$PLINTH_UPSTREAM_DIR, else `../shared/upstream` beside the checkout."""
    configured = os.environ.get("PLINTH_UPSTREAM_DIR")
    default = project_root.parent / "shared" / "upstream"
    return Path(configured).resolve() if configured else default.resolve()


@dataclass(frozen=True)
class UpstreamFile:
    """One file of the upstream data and where it came from."""

    file: str  # path under the upstream directory
    component: str
    version: str  # the directory version, e.g. "v2.5.2"
    tag: str
    repo: str  # https://github.com/<owner>/<name>
    path: str  # path in the upstream repository

    @property
    def raw_url(self) -> str:
        """Where the file is served at its release tag."""
        owner_repo = self.repo.removeprefix("https://github.com/")
        return f"{RAW_GITHUB}{owner_repo}/{self.tag}/{self.path}"


@functools.cache
def manifest(root: Path) -> tuple[UpstreamFile, ...]:
    """Every file MANIFEST.yaml lists (parsed once per content of the file: it is large)."""
    text = (root / "MANIFEST.yaml").read_bytes()
    parsed = derived(
        "upstream-manifest",
        text,
        lambda: json.dumps(yaml.load(text, Loader=SafeLoader), default=str),
    )
    document = json.loads(parsed)
    fields = UpstreamFile.__dataclass_fields__
    return tuple(
        UpstreamFile(**{key: value for key, value in entry.items() if key in fields})
        for entry in document["files"]
    )


def _raw_url_key(url: str) -> str:
    """A raw GitHub URL with owner and repository lower-cased (GitHub ignores their case)."""
    parts = urlsplit(url)
    owner, _, rest = parts.path.lstrip("/").partition("/")
    name, _, tag_and_path = rest.partition("/")
    return f"{parts.scheme}://{parts.netloc}/{owner.lower()}/{name.lower()}/{tag_and_path}"


@functools.cache
def _files_by_raw_url(root: Path) -> Mapping[str, UpstreamFile]:
    """URL -> entry. Istio's crd-all.gen.yaml is listed twice (as the release's CRD file and
    inside the base chart), byte for byte the same: the CRD file (under `crds/`) stands for it."""
    by_url: dict[str, UpstreamFile] = {}
    for entry in sorted(manifest(root), key=lambda e: "/crds/" not in e.file):
        by_url.setdefault(_raw_url_key(entry.raw_url), entry)
    return by_url


def upstream_file_for_url(root: Path, url: str) -> UpstreamFile | None:
    """The MANIFEST entry a `raw.githubusercontent.com/<owner>/<repo>/<tag>/<path>` URL names.

    Same repository, tag and path; None for any other URL (another tag, a branch, a fork).
    """
    if not url.startswith(RAW_GITHUB):
        return None
    return _files_by_raw_url(root).get(_raw_url_key(url))


@dataclass(frozen=True)
class UpstreamChartDir:
    """A complete chart directory of the upstream data."""

    name: str
    component: str
    directory_version: str  # without a leading "v"
    stated_version: str  # Chart.yaml's version (a placeholder for some charts)
    path: Path

    def is_version(self, version: str) -> bool:
        """Whether this directory stands for chart `version`: the release directory's version
        (charts with placeholder versions are stamped with it when packaged), or Chart.yaml's
        own version where the component's tag carries both (dcgm-exporter 4.5.3-4.8.2)."""
        wanted = version.removeprefix("v")
        return wanted in {self.directory_version, self.stated_version} and (
            wanted == self.directory_version or self.directory_version.endswith(f"-{wanted}")
        )


@functools.cache
def chart_dirs(root: Path) -> tuple[UpstreamChartDir, ...]:
    """Every `<component>/<version>/charts/<chart>/Chart.yaml` of the upstream data."""
    found = []
    for entry in manifest(root):
        parts = entry.file.split("/")
        if len(parts) == 5 and parts[2] == "charts" and parts[4] == "Chart.yaml":
            chart_yaml = yaml.load((root / entry.file).read_bytes(), Loader=SafeLoader)
            found.append(
                UpstreamChartDir(
                    name=parts[3],
                    component=entry.component,
                    directory_version=entry.version.removeprefix("v"),
                    stated_version=str(chart_yaml.get("version", "")).removeprefix("v"),
                    path=root / entry.file.removesuffix("/Chart.yaml"),
                )
            )
    return tuple(found)
