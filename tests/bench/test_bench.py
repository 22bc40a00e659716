"""The benchmark's import floor (bench/import_floor.py) holds every SDK module the
program uses, so that no command is measured against a floor that skips part of its
necessary cost; a cold-cache run really starts from an empty cache. Nothing here is timed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_synth import BenchError, Command
from bench.import_floor import AWS_SERVICES, KUBERNETES_GROUPS, MODULES
from tests.conftest import ROOT

SOURCE_DIRS = ("stacks", "targets", "components", "clouds", "addons")
# `aws.s3.Bucket(...)`, `k8s.core.v1.Namespace(...)`, `from pulumi_kubernetes.helm.v4 import`
_AWS_USE = re.compile(r"(?<![\w.])aws\.([a-z0-9_]+)\.[A-Z]")
_KUBERNETES_USE = re.compile(r"(?<![\w.])(?:k8s|pulumi_kubernetes)\.([a-z0-9_]+\.v[0-9a-z]+)\b")


def _sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for directory in SOURCE_DIRS
        for path in sorted((ROOT / directory).rglob("*.py"))
    )


def test_the_floor_imports_every_sdk_module_the_program_uses() -> None:
    sources = _sources()
    used_services = set(_AWS_USE.findall(sources))
    used_groups = set(_KUBERNETES_USE.findall(sources))
    assert used_services, "the pattern should find the AWS services the components create"
    assert used_groups >= {"core.v1", "helm.v4", "yaml.v2"}
    assert used_services <= set(AWS_SERVICES)
    assert used_groups <= set(KUBERNETES_GROUPS)


def test_the_floor_imports_no_plinth_code_and_runs() -> None:
    assert not [name for name in MODULES if name.split(".")[0] in {"plinth", *SOURCE_DIRS}]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "bench" / "import_floor.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    # Each module is loaded whole, not left as the SDKs' lazy placeholder.
    assert "pulumi_aws.ec2.vpc" in imported
    assert "pulumi_kubernetes.core.v1.Namespace" in imported
    assert not [name for name in imported if name.startswith(("plinth", "stacks."))]


def test_a_cold_cache_command_runs_with_an_empty_cache_of_its_own(tmp_path: Path) -> None:
    # The child lists its cache and leaves a file in it: the next run must not see it.
    script = (
        "import os, pathlib; cache = pathlib.Path(os.environ['PLINTH_CHART_CACHE']); "
        "assert not list(cache.iterdir()), 'a warm cache'; (cache / 'left').write_text('x')"
    )
    command = Command([sys.executable, "-c", script], cold_cache=True)
    command.run()
    command.run()
    warm = Command([sys.executable, "-c", script], {"PLINTH_CHART_CACHE": str(tmp_path)})
    warm.run()
    with pytest.raises(BenchError, match="a warm cache"):
        warm.run()
