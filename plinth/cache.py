"""Plinth's cache directory: downloaded charts and files, and derived data of large inputs.

`PLINTH_CHART_CACHE` (default `~/.cache/plinth`). `charts/` and `files/` hold what
`PLINTH_CHARTS=repository` downloads (the layout of an air-gap mirror); `derived/` holds
values computed from large, pinned inputs (a parsed CRD file, the YAML of a large object),
named by the sha256 of what they were computed from, so an entry is never stale: deleting
the directory only costs time.
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
    path = cache_dir() / "derived" / kind / hashlib.sha256(source).hexdigest()
    with contextlib.suppress(OSError):  # not cached yet, or unreadable: compute it
        return path.read_text(encoding="utf-8")
    value = compute()
    with contextlib.suppress(OSError):  # an unwritable cache only costs time next run
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".part"
        ) as partial:
            partial.write(value)
        Path(partial.name).replace(path)
    return value
