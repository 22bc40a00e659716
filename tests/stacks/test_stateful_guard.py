"""The guard against losing data: no change may replace or delete a stateful resource
unless it carries an alias (Pulumi then updates in place) or records a migration.

`tests/stateful-baseline.json` holds, per environment, every stateful resource of the
plan (with its parents and provider, which aliases and replacements depend on). Each
environment is compared with it by `plinth diff`'s rules: a replacement or deletion of a
stateful resource fails here, naming it. When the data really is migrated (or the volume
is meant to go), record the new state, which the review then sees:

    PLINTH_UPDATE_STATEFUL_BASELINE=1 .venv/bin/pytest tests/stacks/test_stateful_guard.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from plinth.diff import diff_plans
from plinth.engine import provider_urn
from policies.stack.stateful import STATEFUL_TYPES
from tests.conftest import ENVIRONMENTS, ROOT, SynthesizedEnvironment

BASELINE = ROOT / "tests" / "stateful-baseline.json"
UPDATE = os.environ.get("PLINTH_UPDATE_STATEFUL_BASELINE") == "1"
HOW_TO_RECORD = (
    "PLINTH_UPDATE_STATEFUL_BASELINE=1 .venv/bin/pytest tests/stacks/test_stateful_guard.py"
)


def stateful_subset(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The stateful resources of a plan with their parent chains and providers."""
    by_urn = {entry["urn"]: entry for entry in entries}
    keep: set[str] = set()
    for entry in entries:
        if entry["type"] not in STATEFUL_TYPES:
            continue
        keep.add(entry["urn"])
        keep.add(provider_urn(str(entry.get("provider") or "")))
        parent = str(entry.get("parent") or "")
        while parent in by_urn and parent not in keep:
            keep.add(parent)
            parent = str(by_urn[parent].get("parent") or "")
    return [by_urn[urn] for urn in sorted(keep) if urn in by_urn]


def recorded() -> dict[str, list[Mapping[str, Any]]]:
    document: dict[str, list[Mapping[str, Any]]] = json.loads(BASELINE.read_text())
    return document


@pytest.fixture(scope="module", autouse=True)
def record_when_asked(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    if UPDATE:
        document = {name: stateful_subset(env.entries) for name, env in sorted(synthesized.items())}
        BASELINE.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def test_every_environment_is_recorded() -> None:
    assert sorted(recorded()) == ENVIRONMENTS, f"record it: {HOW_TO_RECORD}"


def test_no_stateful_resource_is_replaced_or_deleted(env: SynthesizedEnvironment) -> None:
    before = recorded().get(env.environment.name, [])
    diff = diff_plans(before, stateful_subset(env.entries))
    lost = [
        f"{change.action} {change.urn} ({', '.join(change.reasons) or 'see plinth diff'})"
        for change in diff.changes
        if change.stateful and change.action in {"replace", "delete"}
    ]
    assert lost == [], (
        "this change would destroy data: add an alias (pulumi.Alias) to keep the resource, "
        f"or, when the data is migrated, record the new state: {HOW_TO_RECORD}"
    )


def test_every_stateful_resource_is_recorded(env: SynthesizedEnvironment) -> None:
    recorded_urns = {entry["urn"] for entry in recorded().get(env.environment.name, [])}
    unrecorded = sorted(
        entry["urn"]
        for entry in env.entries
        if entry["type"] in STATEFUL_TYPES and entry["urn"] not in recorded_urns
    )
    assert unrecorded == [], f"new or moved stateful resources: record: {HOW_TO_RECORD}"


def test_the_guard_catches_a_rename_without_alias(synthesized: dict[str, Any]) -> None:
    entries = stateful_subset(synthesized["onprem"].entries)
    claim = next(e for e in entries if e["type"] == "kubernetes:core/v1:PersistentVolumeClaim")
    renamed = {**claim, "urn": claim["urn"] + "-renamed", "name": claim["name"] + "-renamed"}
    others = [e for e in entries if e is not claim]
    without_alias = diff_plans(entries, [*others, renamed])
    assert [c.action for c in without_alias.changes if c.stateful] == ["replace"]
    with_alias = diff_plans(entries, [*others, {**renamed, "aliases": [claim["urn"]]}])
    # With the alias Pulumi moves the resource to its new name in place.
    assert [c.action for c in with_alias.changes if c.stateful] == ["update"]
