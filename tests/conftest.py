"""Shared fixtures: the project root, the upstream schema data, and synthesized plans.

Where the unmodified upstream files live is one setting: $PLINTH_UPSTREAM_DIR, default
`../shared/upstream` beside the checkout (see ../shared/upstream/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from plinth.engine import kubernetes_objects
from plinth.environments import Environment, available, load_environment
from plinth.synth import synthesize
from plinth.upstream import upstream_dir as plinth_upstream_dir

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = available(ROOT)


def upstream_dir() -> Path:
    """The directory of upstream CRDs and chart values the tests validate against."""
    return plinth_upstream_dir(ROOT)


# Tests synthesize environments in temporary project directories too, and run `plinth` in
# subprocesses: all of them render charts from the same upstream data.
os.environ.setdefault("PLINTH_UPSTREAM_DIR", str(upstream_dir()))


class SynthesizedEnvironment:
    """One environment after `plinth synth`: its config, plan entries and output folder."""

    def __init__(self, environment: Environment, out_dir: Path, entries: list[dict[str, Any]]):
        self.environment = environment
        self.out_dir = out_dir
        self.entries = entries

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object of the plan."""
        return kubernetes_objects(self.entries)

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        """Plan entries whose Pulumi type is `type_token`."""
        return [entry for entry in self.entries if entry["type"] == type_token]


@pytest.fixture(scope="session")
def upstream() -> Path:
    path = upstream_dir()
    if not (path / "MANIFEST.yaml").is_file():
        pytest.fail(f"upstream schema data not found at {path}: set PLINTH_UPSTREAM_DIR")
    return path


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedEnvironment]:
    """Every environment in environments/, synthesized once per test session."""
    os.environ["PLINTH_PROJECT_DIR"] = str(ROOT)
    results = {}
    for name in ENVIRONMENTS:
        out_dir, entries = synthesize(name, tmp_path_factory.mktemp(f"synth-{name}"))
        results[name] = SynthesizedEnvironment(load_environment(ROOT, name), out_dir, entries)
    return results


@pytest.fixture(params=ENVIRONMENTS)
def env(
    request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]
) -> SynthesizedEnvironment:
    """Each environment in turn (parametrized by name)."""
    return synthesized[request.param]


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake AWS keys only, and no shared config or instance metadata to fall back on."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws() -> Iterator[None]:
    """Every AWS call answered by moto."""
    with mock_aws():
        yield
