"""The pack as the Pulumi CLI runs it: started by Pulumi's launcher, spoken to over gRPC.

`pulumi preview --policy-pack policies` starts `python -u -m pulumi.policy <engine>
policies` (pulumi-language-python's RunPlugin for analyzers), reads the port the pack
prints and calls the Analyzer service. These tests do the same, so they show that the
pack builds in that setting and that its verdicts over gRPC equal `plinth check`'s.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from plinth.check import environment_policy_config, run_pack
from plinth.policy_config import resolve_policy_config
from policies.registry import PACK_NAME, RULES
from tests.conftest import ROOT, SynthesizedEnvironment

STARTUP_TIMEOUT_S = 60


class ServedAnalyzer:
    """The `Analyzer` calls of plinth.check, made over gRPC to the served pack."""

    def __init__(self, stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
        self.stub = stub

    def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802, ARG002
        return self.stub.Configure(request, timeout=STARTUP_TIMEOUT_S)

    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802, ARG002
        return self.stub.Analyze(request, timeout=STARTUP_TIMEOUT_S)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802, ARG002
        return self.stub.AnalyzeStack(request, timeout=STARTUP_TIMEOUT_S)


@pytest.fixture(scope="module")
def served() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policies")],
        cwd=ROOT / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert pack.stdout is not None
        first_line = pack.stdout.readline().strip()
        if not first_line.isdigit():
            pack.kill()
            _, stderr = pack.communicate(timeout=STARTUP_TIMEOUT_S)
            pytest.fail(f"the pack did not start: {first_line!r}\n{stderr}")
        with grpc.insecure_channel(f"127.0.0.1:{first_line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=STARTUP_TIMEOUT_S)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        pack.kill()
        pack.communicate(timeout=STARTUP_TIMEOUT_S)


def test_the_served_pack_declares_every_rule(served: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = served.GetAnalyzerInfo(empty_pb2.Empty(), timeout=STARTUP_TIMEOUT_S)
    assert info.name == PACK_NAME
    declared = {policy.name: policy for policy in info.policies}
    assert set(declared) == {rule.name for rule in RULES}
    for rule in RULES:
        policy = declared[rule.name]
        level = analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel).lower()
        assert level == rule.levels.prod.value, rule.name
        assert policy.remediation_steps == rule.policy.remediation_steps
        schema = rule.policy.config_schema
        assert set(policy.configSchema.properties) == set(schema.properties if schema else {})


def test_served_and_offline_verdicts_are_the_same(
    served: analyzer_pb2_grpc.AnalyzerStub, env: SynthesizedEnvironment
) -> None:
    config, source = environment_policy_config(env.environment)
    settings = resolve_policy_config(config, source)
    offline = run_pack(env.entries, settings)
    assert run_pack(env.entries, settings, analyzer=ServedAnalyzer(served)) == offline


def test_served_pack_reports_a_violation_like_offline(
    served: analyzer_pb2_grpc.AnalyzerStub, synthesized: dict[str, SynthesizedEnvironment]
) -> None:
    # Without the environment's exemptions, prod refuses the tag-pinned operator image:
    # a non-empty verdict, so the equality above is not between two empty lists only.
    entries = synthesized["onprem"].entries
    settings = resolve_policy_config({}, "pack defaults")
    served_verdict = run_pack(entries, settings, analyzer=ServedAnalyzer(served))
    assert served_verdict == run_pack(entries, settings)
    assert "images-pinned-by-digest" in {v.rule for v in served_verdict if v.level == "mandatory"}
