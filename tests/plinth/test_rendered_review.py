"""The review covers what charts deploy: objects planted through `values_override` are
seen by `plinth check`, and a key the chart does not know stops `plinth synth`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.merge import deep_merge
from tests.conftest import ROOT
from tests.plinth.test_cli import run_plinth, write_environment

FOREIGN_IMAGE = {"registry": "evil.example.com", "repository": "x", "tag": "latest"}


def project_with(tmp_path: Path, name: str, config: dict[str, Any]) -> Path:
    """A project directory running Plinth's program on one environment file."""
    write_environment(tmp_path, name, config)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    return tmp_path


def onprem_with(changes: dict[str, Any]) -> dict[str, Any]:
    """The onprem (prod tier) environment's config with `changes` merged in."""
    document = yaml.safe_load((ROOT / "environments" / "Pulumi.onprem.yaml").read_text())
    config: dict[str, Any] = deep_merge(document["config"], changes)
    return config


def test_a_planted_privileged_container_and_foreign_latest_image_fail_the_review(
    tmp_path: Path,
) -> None:
    planted = onprem_with(
        {
            "plinth:gpu": {
                "values_override": {
                    "nvidia-device-plugin": {"securityContext": {"privileged": True}}
                }
            },
            "plinth:spark_operator": {"values_override": {"image": FOREIGN_IMAGE}},
        }
    )
    result = run_plinth("check", "planted", project=project_with(tmp_path, "planted", planted))
    assert result.returncode == 1, result.stderr
    mandatory = [line for line in result.stdout.splitlines() if line.startswith("mandatory")]
    privileged = [line for line in mandatory if "pss-no-privileged" in line]
    foreign = [line for line in mandatory if "evil.example.com/x:latest" in line]
    assert any("DaemonSet" in line and "nvidia-device-plugin " in line for line in privileged)
    assert {"allowed-image-registries", "images-no-latest-tag"} <= {
        line.split()[1] for line in foreign
    }
    assert any("spark-operator-controller" in line for line in foreign)


def test_the_same_environment_without_the_plants_passes(tmp_path: Path) -> None:
    result = run_plinth("check", "clean", project=project_with(tmp_path, "clean", onprem_with({})))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: 0 mandatory" in result.stdout


def test_a_misspelt_values_override_key_is_a_one_line_error(tmp_path: Path) -> None:
    misspelt = onprem_with(
        {"plinth:spark_operator": {"values_override": {"controller": {"replicaz": 2}}}}
    )
    result = run_plinth("synth", "misspelt", project=project_with(tmp_path, "misspelt", misspelt))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "controller.replicaz" in lines[0]
    assert "spark-operator" in lines[0]
