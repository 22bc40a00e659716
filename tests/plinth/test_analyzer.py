"""The decode-once servicer `plinth check` runs the pack with (plinth/analyzer.py): the
same verdicts as pulumi-policy's unmodified servicer, each set of properties decoded once,
and the servicer module left as it was found."""

from __future__ import annotations

import json
from typing import Any

import pulumi_policy.policy as servicer_module
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from plinth.analyzer import DECODING_STEPS, DecodeOnceAnalyzer
from plinth.check import Analyzer, environment_policy_config, in_process_analyzer, run_pack
from plinth.policy_config import resolve_policy_config
from policies.framework import Rule, resource_rule, stack_rule
from policies.registry import PACK_NAME, PACK_VERSION, RULES
from tests.conftest import SynthesizedEnvironment
from tests.policy_harness import entry, kubernetes

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's unknown string value


def plain_servicer(rules: tuple[Rule, ...] = RULES) -> Analyzer:
    servicer: Analyzer = _PolicyAnalyzerServicer(
        PACK_NAME, PACK_VERSION, [rule.policy for rule in rules], EnforcementLevel.MANDATORY
    )
    return servicer


def decode_once(rules: tuple[Rule, ...] = RULES) -> DecodeOnceAnalyzer:
    return DecodeOnceAnalyzer(PACK_NAME, PACK_VERSION, [rule.policy for rule in rules])


def _reads_the_replica_count(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("spec", {}).get("replicas", 0) > 1:
        report(f"{args.name} runs {args.props['spec']['replicas']} replicas", None)


def _lists_every_name(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        report(f"saw {resource.props.get('metadata', {}).get('name', resource.name)}", resource.urn)


def _fails(args: ResourceValidationArgs, report: ReportViolation) -> None:  # noqa: ARG001
    message = "a rule that breaks"
    raise RuntimeError(message)


REPLICAS = resource_rule(
    "replicas",
    "Few replicas.",
    _reads_the_replica_count,
    severity=Severity.LOW,
    remediation="Fewer.",
)
NAMES = stack_rule(
    "names", "Every name.", _lists_every_name, severity=Severity.LOW, remediation="None."
)
TOY_RULES = (REPLICAS, NAMES)


def deployment(name: str, replicas: Any) -> dict[str, Any]:
    return kubernetes(
        "apps/v1", "Deployment", {"metadata": {"name": name}, "spec": {"replicas": replicas}}
    )


def toy_settings() -> Any:
    return resolve_policy_config({}, "test.json", TOY_RULES)


def test_verdicts_equal_the_unmodified_servicers_on_toy_rules() -> None:
    # Same properties twice (decoded once, read twice), an unknown value (the servicer's
    # "can't run policy" path) and a provider shared by two resources.
    provider = entry("pulumi:providers:kubernetes", {"context": "kind-plinth"}, name="k8s")
    resources = [
        provider,
        {**deployment("web", 3), "provider": f"{provider['urn']}::k8s-id"},
        {**deployment("api", 3), "provider": f"{provider['urn']}::k8s-id"},
        deployment("pending", UNKNOWN),
        deployment("single", 1),
    ]
    expected = run_pack(resources, toy_settings(), TOY_RULES, plain_servicer(TOY_RULES))
    assert run_pack(resources, toy_settings(), TOY_RULES, decode_once(TOY_RULES)) == expected
    assert {v.message.split()[0] for v in expected} >= {"web", "api", "saw", "can't"}


def test_verdicts_equal_the_unmodified_servicers_on_an_environment(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    # prod without the rendered CRDs: the unmodified servicer takes seconds on those, and
    # tests/test_policy_pack_served.py compares every whole plan with the served pack.
    prod = synthesized["prod"]
    entries = [e for e in prod.entries if e["inputs"].get("kind") != "CustomResourceDefinition"]
    config, source = environment_policy_config(prod.environment)
    settings = resolve_policy_config(config, source)
    expected = run_pack(entries, settings, analyzer=plain_servicer())
    assert run_pack(entries, settings, analyzer=decode_once()) == expected
    assert expected, "the comparison should cover findings, not two empty lists"


def test_each_set_of_properties_is_decoded_once_for_every_rule() -> None:
    provider = entry("pulumi:providers:kubernetes", {"context": "kind-plinth"}, name="k8s")
    resources = [
        provider,
        *(
            {**deployment(f"app-{index}", index), "provider": f"{provider['urn']}::k8s-id"}
            for index in range(5)
        ),
        deployment("app-0-again", 0) | {"inputs": deployment("app-0", 0)["inputs"]},
    ]
    distinct = {json.dumps(resource["inputs"], sort_keys=True) for resource in resources}
    analyzer = decode_once()
    run_pack(resources, resolve_policy_config({}, "test.json"), RULES, analyzer)
    # 45 rules read each resource, the stack rules read all of them, each resource brings
    # its provider: still one decoding per distinct set of properties.
    assert analyzer.decoder.decoded == len(distinct) == 6


def test_the_servicer_module_is_restored_after_each_call() -> None:
    originals = {name: getattr(servicer_module, name) for name in DECODING_STEPS}
    assert originals["json_format"] is json_format
    run_pack([deployment("web", 3)], toy_settings(), TOY_RULES, decode_once(TOY_RULES))
    assert {name: getattr(servicer_module, name) for name in DECODING_STEPS} == originals
    failing = resource_rule(
        "fails", "Breaks.", _fails, severity=Severity.LOW, remediation="Fix it."
    )
    settings = resolve_policy_config({}, "test.json", (failing,))
    with pytest.raises(RuntimeError, match="a rule that breaks"):
        run_pack([deployment("web", 3)], settings, (failing,), decode_once((failing,)))
    assert {name: getattr(servicer_module, name) for name in DECODING_STEPS} == originals


def test_plinth_check_runs_the_decode_once_servicer() -> None:
    assert isinstance(in_process_analyzer(), DecodeOnceAnalyzer)


def test_a_reference_decodes_as_the_struct_of_its_properties_would() -> None:
    properties = {
        "spec": {"replicas": 3, "ratio": 0.5, "big": 2**60, "paused": False, "note": None},
        "items": [1, "two", {"three": [3]}],
        "secret": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"},
    }
    analyzer = decode_once()
    struct = struct_pb2.Struct()
    json_format.ParseDict(properties, struct)
    by_reference = analyzer.decoder.message_to_dict(analyzer.reference(properties))
    assert by_reference == json_format.MessageToDict(struct)
    assert by_reference["spec"]["replicas"] == 3.0
    assert isinstance(by_reference["spec"]["replicas"], float)  # as a Struct's doubles
    assert analyzer.decoder.decoded == 1


def test_the_pack_reads_every_property_of_a_referenced_object() -> None:
    # The whole object reaches the rules: a value deep inside a large object is judged.
    deep = deployment("deep", 1)
    deep["inputs"]["spec"]["template"] = {"padding": ["x" * 100] * 10_000}
    deep["inputs"]["spec"]["replicas"] = 5
    found = run_pack([deep], toy_settings(), TOY_RULES, decode_once(TOY_RULES))
    assert any(v.message.startswith("deep runs 5.0 replicas") for v in found)
    assert found == run_pack([deep], toy_settings(), TOY_RULES, plain_servicer(TOY_RULES))
