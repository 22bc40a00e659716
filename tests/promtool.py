"""Running the real `promtool` (Prometheus' rule checker) on the rules Plinth renders.

`promtool check rules` parses every rule and its PromQL expression; `promtool test rules`
evaluates the rules on input series and compares the alerts that fire with the expected
ones. The Debian package `prometheus` provides /usr/bin/promtool (`make test` installs it);
without it the tests fail, never skip: a rule nobody evaluated is not tested.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

TIMEOUT_S = 120
RULE_FILE = "rules.yaml"


@dataclass(frozen=True)
class PromtoolResult:
    """What promtool said: its exit code and its output."""

    returncode: int
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def promtool() -> str:
    """The promtool executable, or a failed test saying how to install it."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool not found: install it (`apt-get install -y --no-install-recommends "
            "prometheus`, which `make test` does as root); the alert rule tests need it"
        )
    return found


def rule_groups(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rule groups of every PrometheusRule among `objects`, in order."""
    return [
        group
        for obj in objects
        if obj.get("kind") == "PrometheusRule"
        for group in obj["spec"].get("groups", [])
    ]


def _run(*args: str) -> PromtoolResult:
    # Fixed argv: promtool from PATH and files this module wrote.
    result = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    return PromtoolResult(result.returncode, result.stdout + result.stderr)


def write_rules(directory: Path, groups: Sequence[Mapping[str, Any]]) -> Path:
    """`groups` as a Prometheus rule file in `directory`."""
    path = directory / RULE_FILE
    path.write_text(yaml.safe_dump({"groups": list(groups)}, sort_keys=False))
    return path


def check_rules(directory: Path, groups: Sequence[Mapping[str, Any]]) -> PromtoolResult:
    """`promtool check rules` on `groups`."""
    return _run("check", "rules", str(write_rules(directory, groups)))


def test_rules(
    directory: Path, groups: Sequence[Mapping[str, Any]], unit_test: Mapping[str, Any]
) -> PromtoolResult:
    """`promtool test rules` of `unit_test` (a promtool test file's content, without
    `rule_files`) against `groups`."""
    write_rules(directory, groups)
    test_file = directory / "test.yaml"
    test_file.write_text(yaml.safe_dump({**unit_test, "rule_files": [RULE_FILE]}))
    return _run("test", "rules", str(test_file))


test_rules.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test
