"""The cache of derived data (plinth/cache.py): entries named by a digest of everything
they were computed from, so a changed input is a miss, never a stale answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from plinth import cache
from plinth.plan import _yaml, render_manifest


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_derived_computes_once_per_source() -> None:
    calls: list[str] = []

    def compute() -> str:
        calls.append("x")
        return f"value {len(calls)}"

    assert cache.derived("kind", b"one", compute) == "value 1"
    assert cache.derived("kind", b"one", compute) == "value 1"
    assert cache.derived("kind", b"two", compute) == "value 2"
    assert cache.lookup("kind", b"three") is None


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("PLINTH_CHART_CACHE", str(blocker))
    cache.store("kind", b"source", "value")
    assert cache.lookup("kind", b"source") is None
    assert cache.derived("kind", b"source", lambda: "computed") == "computed"


def test_tree_digest_follows_every_file_its_name_and_content(tmp_path: Path) -> None:
    tree = tmp_path / "chart"
    (tree / "templates").mkdir(parents=True)
    (tree / "Chart.yaml").write_text("name: a\n", encoding="utf-8")
    (tree / "templates" / "a.yaml").write_text("kind: A\n", encoding="utf-8")
    first = cache.tree_digest(tree)
    assert cache.tree_digest(tree) == first
    (tree / "templates" / "a.yaml").write_text("kind: B\n", encoding="utf-8")
    edited = cache.tree_digest(tree)
    (tree / "templates" / "a.yaml").rename(tree / "templates" / "b.yaml")
    renamed = cache.tree_digest(tree)
    (tree / "templates" / "c.yaml").write_text("", encoding="utf-8")
    added = cache.tree_digest(tree)
    assert len({first, edited, renamed, added}) == 4
    assert cache.tree_digest(tree / "Chart.yaml") != cache.tree_digest(tree)


def test_a_manifest_from_the_cache_is_the_one_emitted(own_cache: Path) -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a"}, "data": {"k": "v"}}
    emitted = render_manifest(obj)
    assert emitted.startswith("apiVersion: v1\nkind: ConfigMap\n")
    assert list((own_cache / "derived" / "manifest-yaml").iterdir())
    assert (
        render_manifest(obj)
        == emitted
        == _yaml({key: obj[key] for key in ("apiVersion", "kind", "metadata", "data")})
    )
    other = render_manifest({**obj, "data": {"k": "w"}})
    assert other != emitted
