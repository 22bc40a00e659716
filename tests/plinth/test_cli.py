"""`plinth synth` as a user runs it: exit codes, one-line errors, outputs, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plinth.cli import EXIT_BAD_INPUT, main
from plinth.environments import load_environment
from stacks.config import ConfigError
from tests.conftest import ROOT

json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["plinth:tier", "plinth:cluster", "tier", "x:y", "secure"])
            | st.text(max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)


def write_environment(project: Path, name: str, config: object) -> None:
    """A project directory holding Pulumi.yaml and one environment file."""
    (project / "environments").mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    body = config if isinstance(config, str) else yaml.safe_dump({"config": config})
    (project / "environments" / f"Pulumi.{name}.yaml").write_text(body)


def local_config() -> dict[str, object]:
    document = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())
    config: dict[str, object] = document["config"]
    return config


def run_plinth(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PLINTH_PROJECT_DIR": str(project)}
    return subprocess.run(
        [sys.executable, "-m", "plinth.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"plinth:spark_operator": {"replicas": 2}}, "plinth:spark_operator.replicas"),
        ({"plinth:node_pools": {"gpu": {"max_size": "two"}}}, "plinth:node_pools.gpu.max_size"),
        (
            {"plinth:node_pools": {"gpu": {"accelerator": "nvidia", "min_size": 3, "max_size": 1}}},
            "min_size 3 is above max_size 1",
        ),
        ({"plinth:colour": "blue"}, "plinth:colour"),
    ],
    ids=["unknown-key", "wrong-type", "impossible-value", "unknown-top-level-key"],
)
def test_bad_environment_exits_2_with_one_line(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    write_environment(tmp_path, "bad", {**local_config(), **change})
    result = run_plinth("synth", "bad", project=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    write_environment(tmp_path, "broken", "config:\n  plinth:tier: dev\n   bad: [\n")
    result = run_plinth("synth", "broken", project=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "Pulumi.broken.yaml: line" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_environment_lists_the_available_ones(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["PLINTH_PROJECT_DIR"] = str(ROOT)
    assert main(["synth", "nowhere"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "Pulumi.nowhere.yaml" in error
    assert "local" in error
    assert "onprem" in error


def test_failed_synth_keeps_the_previous_plan(tmp_path: Path) -> None:
    write_environment(tmp_path, "env", local_config())
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    out = tmp_path / "out" / "env"
    assert run_plinth("synth", "env", project=tmp_path).returncode == 0
    before = (out / "plan.json").read_text()
    write_environment(tmp_path, "env", {**local_config(), "plinth:tier": "qa"})
    assert run_plinth("synth", "env", project=tmp_path).returncode == EXIT_BAD_INPUT
    assert (out / "plan.json").read_text() == before


def test_synth_prints_a_summary_per_component(tmp_path: Path) -> None:
    result = run_plinth("synth", "local", "--out", str(tmp_path / "plan"), project=ROOT)
    assert result.returncode == 0, result.stderr
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    components = [r["name"] for r in plan["resources"] if r["type"].startswith("plinth:")]
    top_level = [r for r in plan["resources"] if r["name"] in components and "$" not in r["parent"]]
    for resource in top_level:
        assert resource["name"] in result.stdout
    assert f"local: {len(plan['resources'])} resources" in result.stdout


def test_secure_values_never_reach_the_plan(tmp_path: Path) -> None:
    ciphertext = "v1:s3cr3tCiphertextThatMustNotLeak"
    write_environment(
        tmp_path, "env", {**local_config(), "kubernetes:token": {"secure": ciphertext}}
    )
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("synth", "env", project=tmp_path)
    assert result.returncode == 0, result.stderr
    written = "".join(p.read_text() for p in (tmp_path / "out" / "env").rglob("*") if p.is_file())
    assert ciphertext not in written + result.stdout + result.stderr


def test_secure_values_become_marked_secret_placeholders(tmp_path: Path) -> None:
    write_environment(tmp_path, "env", {**local_config(), "kubernetes:token": {"secure": "v1:abc"}})
    loaded = load_environment(tmp_path, "env")
    assert loaded.secret_keys == ("kubernetes:token",)
    assert loaded.pulumi_config["kubernetes:token"] == "[secret:kubernetes:token]"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.text(max_size=200) | st.builds(lambda c: yaml.safe_dump({"config": c}), json_documents)
)
def test_any_environment_file_loads_or_fails_in_one_line(tmp_path: Path, body: str) -> None:
    write_environment(tmp_path, "fuzz", body)
    try:
        load_environment(tmp_path, "fuzz")
    except ConfigError as error:
        message = str(error)
        assert message.startswith("environments/Pulumi.fuzz.yaml")
        assert "\n" not in message
