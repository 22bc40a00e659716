"""What `plinth synth` produces: a deterministic plan holding the whole platform."""

from __future__ import annotations

import json
from pathlib import Path

from plinth.plan import plan_document, plan_text
from plinth.synth import synthesize
from tests.conftest import SynthesizedEnvironment


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_synth_is_byte_identical_between_runs(tmp_path: Path, env: SynthesizedEnvironment) -> None:
    again, _ = synthesize(env.environment.name, tmp_path / "again")
    first, second = files_under(env.out_dir), files_under(again)
    assert "plan.json" in first
    assert first == second


def test_every_kubernetes_object_is_written_as_a_manifest(env: SynthesizedEnvironment) -> None:
    written = list((env.out_dir / "manifests").rglob("*.yaml"))
    assert len(written) == len(env.objects) > 0


def test_plan_entries_carry_what_reviewers_need(env: SynthesizedEnvironment) -> None:
    required = {"urn", "type", "name", "parent", "inputs", "dependencies", "protect", "provider"}
    for entry in env.entries:
        assert required <= set(entry), entry["urn"]


def test_every_kubernetes_resource_goes_through_the_cluster_provider(
    env: SynthesizedEnvironment,
) -> None:
    providers = [e["urn"] for e in env.of_type("pulumi:providers:kubernetes")]
    assert len(providers) == 1
    for entry in env.entries:
        if entry["type"].startswith("kubernetes:"):
            assert entry["provider"].startswith(providers[0] + "::"), entry["urn"]


def test_platform_labels_are_on_every_object(env: SynthesizedEnvironment) -> None:
    owner = env.environment.platform.ownership.owner
    # CRDs are upstream's API definitions, applied byte-for-byte from the pinned release
    # (the ownership-labels rule exempts them for the same reason).
    for obj in (o for o in env.objects if o["kind"] != "CustomResourceDefinition"):
        labels = obj["metadata"]["labels"]
        assert labels["plinth.io/owner"] == owner
        assert labels["plinth.io/environment"] == env.environment.name


def test_plan_text_is_the_document_with_one_line_per_resource(
    env: SynthesizedEnvironment,
) -> None:
    document = plan_document(env.environment.name, env.entries, {"source": "x"})
    text = plan_text(document)
    assert json.loads(text) == document
    resource_lines = [line for line in text.splitlines() if line.startswith('    {"aliases"')]
    assert len(resource_lines) == len(env.entries)
    assert json.loads(plan_text(plan_document("empty", []))) == plan_document("empty", [])
