"""`plinth check --plan` checks only a plan synthesized from what is here now.

A plan records the sha256 of its inputs (the environment file, the project's code, the
upstream data) and of its own resources; `check --plan` refuses a plan whose inputs
changed since (stale), whose resources were edited, or that records nothing (empty or
hand-written), with a one-line error saying to synthesize again.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from plinth.plan import SOURCE_DIRS, plan_inputs, resources_digest
from tests.conftest import ROOT
from tests.plinth.test_cli import local_config, run_plinth, write_environment


def project(tmp_path: Path) -> Path:
    """A project holding the local environment as `subject`, synthesized into out/."""
    root = tmp_path / "project"
    write_environment(root, "subject", local_config())
    (root / "stacks").symlink_to(ROOT / "stacks")
    synth = run_plinth("synth", "subject", "--out", str(root / "out"), project=root)
    assert synth.returncode == 0, synth.stderr
    return root


def check_plan(root: Path) -> Any:
    return run_plinth("check", "subject", "--plan", str(root / "out" / "plan.json"), project=root)


def assert_refused(result: Any, problem: str) -> None:
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert problem in result.stderr
    assert result.stderr.rstrip().endswith("re-run plinth synth subject")


def test_a_plan_of_the_environment_as_it_is_is_checked(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = check_plan(root)
    assert result.returncode == 0, result.stderr
    assert "result: 0 mandatory" in result.stdout


def test_a_plan_older_than_its_environment_file_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    environment_file = root / "environments" / "Pulumi.subject.yaml"
    environment_file.write_text(environment_file.read_text() + "# edited after synth\n")
    assert_refused(
        check_plan(root), "stale plan: environment_file changed since it was synthesized"
    )


def test_a_plan_whose_resources_were_edited_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    plan = root / "out" / "plan.json"
    document = json.loads(plan.read_text())
    document["resources"] = document["resources"][1:]
    plan.write_text(json.dumps(document))
    assert_refused(check_plan(root), "do not match its resources_sha256")


@pytest.mark.parametrize(
    ("recorded", "problem"),
    [
        ({}, "records no input fingerprint"),
        ({"inputs": None}, "records no input fingerprint"),
        ({"with_inputs": True, "resources_sha256": resources_digest([])}, "has no resources"),
    ],
    ids=["bare", "no-inputs", "empty"],
)
def test_a_plan_without_a_fingerprint_or_resources_is_refused(
    tmp_path: Path, recorded: dict[str, Any], problem: str
) -> None:
    root = project(tmp_path)
    plan = root / "out" / "plan.json"
    document: dict[str, Any] = {"plan_version": 1, "environment": "subject", "resources": []}
    if recorded.pop("with_inputs", False):
        document["inputs"] = json.loads(plan.read_text())["inputs"]
    plan.write_text(json.dumps({**document, **recorded}))
    assert_refused(check_plan(root), problem)


# ---- what the fingerprint covers ------------------------------------------------------


def source_tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "tree"
    for relative in ("plinth/cli.py", "policies/rules.py", "pyproject.toml"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(f"# {relative}\n")
    environment_file = root / "environments" / "Pulumi.subject.yaml"
    environment_file.parent.mkdir()
    environment_file.write_text("config: {}\n")
    return root, environment_file


def test_the_fingerprint_follows_the_code_and_the_upstream_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "MANIFEST.yaml").write_text("charts: []\n")
    monkeypatch.setenv("PLINTH_UPSTREAM_DIR", str(upstream))
    root, environment_file = source_tree(tmp_path)
    before = plan_inputs(root, environment_file)
    assert plan_inputs(root, environment_file) == before
    (root / "plinth" / "notes.txt").write_text("not code\n")
    assert plan_inputs(root, environment_file) == before
    (root / "policies" / "rules.py").write_text("# changed, not committed\n")
    after_code = plan_inputs(root, environment_file)
    assert {key for key in before if before[key] != after_code[key]} == {"source"}
    (upstream / "MANIFEST.yaml").write_text("charts: [spark-operator]\n")
    after_upstream = plan_inputs(root, environment_file)
    assert {key for key in before if after_code[key] != after_upstream[key]} == {
        "upstream_manifest"
    }


def test_the_fingerprint_hashes_every_package_of_the_project() -> None:
    """A package missing from SOURCE_DIRS could change a plan without making it stale."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.removesuffix("*") for pattern in packages} == set(SOURCE_DIRS)
