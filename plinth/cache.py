"""Plinth's cache directory: downloaded charts and files, and derived data of large inputs.

`PLINTH_CHART_CACHE` (default `~/.cache/plinth`). `charts/` and `files/` hold what
`PLINTH_CHARTS=repository` downloads (the layout of an air-gap mirror); `derived/` holds
values computed from large, pinned inputs (a parsed CRD file, the YAML of a large object,
a chart's rendered objects), named by the sha256 of everything they were computed from, so
an entry is never stale: deleting the directory only costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path:
    """$PLINTH_CHART_CACHE, else ~/.cache/plinth."""
    configured = os.environ.get("PLINTH_CHART_CACHE")
    return (
        Path(configured).expanduser().resolve() if configured else Path.home() / ".cache" / "plinth"
    )


def derived(kind: str, source: bytes, compute: Callable[[], str]) -> str:
    """`compute()`, cached under `derived/<kind>/` by the sha256 of `source`.

    A cache that cannot be written (read-only home, full disk) is skipped, never an error.
    """
    cached = lookup(kind, source)
    if cached is not None:
        return cached
    value = compute()
    store(kind, source, value)
    return value


def _entry(kind: str, source: bytes) -> Path:
    return cache_dir() / "derived" / kind / hashlib.sha256(source).hexdigest()


def lookup(kind: str, source: bytes) -> str | None:
    """What `store` kept under `kind` for `source`; None when nothing is (or unreadable)."""
    with contextlib.suppress(OSError):
        return _entry(kind, source).read_text(encoding="utf-8")
    return None


def store(kind: str, source: bytes, value: str) -> None:
    """Keep `value` under `kind` for `source`, written whole or not at all (an unwritable
    cache only costs time next run)."""
    path = _entry(kind, source)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".part"
        ) as partial:
            partial.write(value)
        Path(partial.name).replace(path)


def tree_digest(path: Path) -> str:
    """sha256 over a file, or over every file under a directory (relative path, size and
    content of each, in path order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(f"{file.relative_to(path).as_posix()}\0{file.stat().st_size}\0".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
