"""`plinth check`: the policy pack, run in-process over a synthesized plan.

The pack's own analyzer (the servicer `pulumi_policy` serves to the Pulumi CLI over gRPC)
is driven directly: it is configured with the resolved policy config, asked to `Analyze`
every resource of the plan and then to `AnalyzeStack` all of them, exactly the calls the
CLI makes during `pulumi preview --policy-pack policies`. Verdicts (which rule, which
resource, advisory or mandatory) are therefore the pack's, not a re-implementation's.

Waivers and exemptions are never silent: a waived rule runs a second time at its tier's
level without exemptions, and every finding the waiver lowers or hides is reported with
its reason (`findings`).

The servicer class is private API of pulumi-policy; tests/plinth/test_check.py pins the behaviour
this module relies on, and pyproject.toml pins the version.

What differs from the CLI, by construction: the CLI analyzes provider-checked inputs for
resource rules and last outputs for stack rules; offline both are the program's inputs.
The objects charts and CRD files deploy are rendered by `plinth synth`
(plinth/rendering.py) and checked like every other resource; where they cannot be
rendered, the review is refused rather than given on part of the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Policy, StackValidationPolicy

from plinth.analyzer import DecodeOnceAnalyzer
from plinth.engine import provider_urn
from plinth.environments import Environment, load_environment, project_root
from plinth.exemptions import (
    component_exemptions,
    with_exemptions,
    with_platform_namespaces,
)
from plinth.helm import HelmUnavailableError
from plinth.locations import SourceLocation, locate
from plinth.plan import plan_document, plan_inputs, read_plan, write_plan
from plinth.policy_config import (
    CONFIG_DIR,
    Deviations,
    Exemption,
    PolicyConfigError,
    PolicySetting,
    Waiver,
    find_deviations,
    layer_policy_configs,
    load_policy_config_file,
    refuse_prod_waiver,
    resolve_policy_config,
)
from plinth.progress import silent
from plinth.synth import program_entries
from policies.framework import Rule
from policies.kubernetes.exemptions import exemption_matches, workload_identity
from policies.registry import PACK_NAME, PACK_VERSION, RULES
from stacks.config import ConfigError, platform_namespaces

_LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}


@dataclass(frozen=True, order=True)
class Violation:
    """One diagnostic of the pack: a rule broken by a resource (or by the stack).

    `level` is what the pack reports under the environment's config, or `waived` (the
    rule is disabled by a waiver) or `exempt` (an exemption skips the workload) for a
    finding only the tier's own settings report. `waived_by` is the reason of the waiver
    or exemption that lowered or hid it.
    """

    level: str
    rule: str
    urn: str
    resource_type: str
    message: str
    severity: str
    waived_by: str = ""


@dataclass(frozen=True)
class CheckReport:
    """The verdict of the pack on one environment."""

    environment: str
    tier: str
    config_source: str
    rules: tuple[Rule, ...]
    violations: tuple[Violation, ...]
    waivers: tuple[Waiver, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    resources: int = 0
    locations: Mapping[str, SourceLocation] = field(default_factory=dict)
    """URN -> where its configuration is written (plinth/locations.py)."""

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        """The violations that block `pulumi up`."""
        return tuple(v for v in self.violations if v.level == "mandatory")

    def count(self, level: str) -> int:
        """How many findings are at `level`."""
        return sum(1 for v in self.violations if v.level == level)


@dataclass(frozen=True)
class EnvironmentPolicy:
    """The policy config of one environment: the file the CLI gets, resolved and audited."""

    config: dict[str, Any]
    source: str
    settings: dict[str, PolicySetting]
    deviations: Deviations


def check_environment(
    name: str, *, plan: Path | None = None, policy_config: Path | None = None
) -> CheckReport:
    """Run the pack on environment `name`: synthesized now (written to out/NAME), or `plan`."""
    root = project_root()
    environment = load_environment(root, name)
    # Bad policy config fails before anything runs or is written.
    policy = environment_policy(environment, policy_config)
    inputs = plan_inputs(root, environment.path)
    if plan is None:
        try:
            entries = program_entries(root, environment)
        except HelmUnavailableError as error:
            raise ConfigError(
                f"review incomplete, refusing it: the charts' objects cannot be rendered ({error})"
            ) from None
        write_plan(root / "out" / name, plan_document(name, entries, inputs))
    else:
        entries = read_plan(plan, name, inputs)
    return review(root, name, environment, entries, policy)


def review(
    root: Path,
    name: str,
    environment: Environment,
    entries: Sequence[Mapping[str, Any]],
    policy: EnvironmentPolicy,
    *,
    progress: Callable[[str], None] = silent,
) -> CheckReport:
    """The pack's verdict on the plan `entries` of `environment` (named `name` on the
    command line, in project `root`) under `policy`; `progress` hears of each resource as
    the pack reaches it."""
    tier = environment.platform.tier
    violations = tuple(findings(entries, policy, tier, progress))
    return CheckReport(
        environment=name,
        tier=tier,
        config_source=policy.source,
        rules=RULES,
        violations=violations,
        waivers=policy.deviations.waivers,
        exemptions=policy.deviations.exemptions,
        resources=len(entries),
        locations=locate(root, environment, entries, {v.urn for v in violations}),
    )


def environment_policy(environment: Environment, override: Path | None = None) -> EnvironmentPolicy:
    """The environment's policy config, refused when it waives what it may not.

    `override` (a `--policy-pack-config` file) replaces the config; it may lower only the
    rules the environment waives, to no lower than the waiver says.
    """
    policy = environment.platform.policy
    tier = environment.platform.tier
    where = f"environments/{environment.path.name}"
    known = {rule.name: rule for rule in RULES}
    for key, names in (("waivers", policy.waivers), ("config", policy.config)):
        for rule_name in sorted(set(names) - set(known)):
            raise PolicyConfigError(
                f"{where}: plinth:policy.{key}.{rule_name}: no such rule; the rules are "
                f"listed in policies/README.md"
            )
    for rule_name in sorted(policy.waivers):
        refuse_prod_waiver(known[rule_name], tier, f"{where}: plinth:policy.waivers.{rule_name}")
    if override is not None:
        config, source = load_policy_config_file(override), str(override)
        locate = partial("{}: {}".format, override)
    else:
        config, source = _tier_and_environment_config(environment)
        locate = partial("{}: plinth:policy.config.{}".format, where)
    settings = resolve_policy_config(config, source)
    deviations = find_deviations(settings, tier, policy.waivers, locate)
    return EnvironmentPolicy(config, source, settings, deviations)


def environment_policy_config(
    environment: Environment, override: Path | None = None
) -> tuple[dict[str, Any], str]:
    """The config file the CLI should get for `environment`, and where it came from.

    `override` (a `--policy-pack-config` file) replaces everything; otherwise it is the
    tier's file in policies/config/ with the environment's `plinth:policy` on top. Either
    way it is refused when it waives what the environment may not waive.
    """
    policy = environment_policy(environment, override)
    return policy.config, policy.source


def _tier_and_environment_config(environment: Environment) -> tuple[dict[str, Any], str]:
    tier_file = CONFIG_DIR / f"{environment.platform.tier}.json"
    policy = environment.platform.policy
    layered = layer_policy_configs(
        load_policy_config_file(tier_file),
        {rule: {"enforcementLevel": w.enforcement_level} for rule, w in policy.waivers.items()},
        policy.config,
    )
    layered = with_exemptions(layered, component_exemptions(environment.platform))
    layered = with_platform_namespaces(layered, platform_namespaces(environment.platform))
    relative = tier_file.relative_to(CONFIG_DIR.parent.parent)
    return layered, f"{relative} + environments/{environment.path.name} plinth:policy"


def findings(
    entries: Sequence[Mapping[str, Any]],
    policy: EnvironmentPolicy,
    tier: str,
    progress: Callable[[str], None] = silent,
) -> list[Violation]:
    """What the pack reports under the environment's config, plus what its waivers and
    exemptions hide: each waived rule runs again at the tier's own level and without
    exemptions, and every finding the waiver lowered or hid carries its reason."""
    found = run_pack(entries, policy.settings, progress=progress)
    deviations = policy.deviations
    affected = deviations.affected_rules()
    if not affected:
        return found
    rules = tuple(rule for rule in RULES if rule.name in affected)
    subjects = _strict_subjects(entries, deviations, rules)
    strict = run_pack(subjects, _tier_settings(policy.settings, rules, tier), rules)
    reasons = {waiver.rule: waiver.reason for waiver in deviations.waivers}
    seen = {(v.rule, v.urn, v.message) for v in found}
    tagged = [replace(v, waived_by=reasons.get(v.rule, "")) for v in found]
    by_urn = {str(entry["urn"]): entry for entry in entries}
    hidden = [
        _hidden_finding(v, deviations, reasons, by_urn.get(v.urn))
        for v in strict
        if (v.rule, v.urn, v.message) not in seen
    ]
    return sorted(tagged + hidden, key=_report_order)


def _strict_subjects(
    entries: Sequence[Mapping[str, Any]], deviations: Deviations, rules: tuple[Rule, ...]
) -> Sequence[Mapping[str, Any]]:
    """What the strict run must analyze: every entry when a level is waived or a stack rule
    is affected; otherwise only the workloads an exemption names (and their providers),
    since a resource rule judges one resource at a time. Analyzing a plan of chart objects
    costs seconds; the GPU agents' exemptions are in every GPU environment."""
    if deviations.waivers or any(isinstance(r.policy, StackValidationPolicy) for r in rules):
        return entries
    exempted = [entry for entry in entries if _exemptions_of(entry, deviations.exemptions)]
    providers = {provider_urn(str(entry.get("provider") or "")) for entry in exempted}
    return [entry for entry in entries if entry in exempted or entry["urn"] in providers]


def _exemptions_of(entry: Mapping[str, Any], exemptions: Sequence[Exemption]) -> list[Exemption]:
    """The exemptions that name the workload of plan `entry`."""
    namespace, name = workload_identity(entry.get("inputs") or {}, str(entry["name"]))
    return [
        exemption
        for exemption in exemptions
        if exemption_matches(
            {"namespace": exemption.namespace, "name": exemption.name}, namespace, name
        )
    ]


def _tier_settings(
    settings: Mapping[str, PolicySetting], rules: tuple[Rule, ...], tier: str
) -> dict[str, PolicySetting]:
    """The settings of `rules` at the tier's own level and with no exemption."""
    strict = {}
    for rule in rules:
        properties = dict(settings[rule.name].properties)
        if "exemptWorkloads" in properties:
            properties["exemptWorkloads"] = []
        strict[rule.name] = PolicySetting(rule.levels.of(tier).value, properties)
    return strict


def _hidden_finding(
    violation: Violation,
    deviations: Deviations,
    reasons: Mapping[str, str],
    entry: Mapping[str, Any] | None,
) -> Violation:
    """A finding the environment's config hides, with the reason of what hides it."""
    if entry is not None:
        for exemption in _exemptions_of(entry, deviations.exemptions):
            if exemption.rule == violation.rule:
                return replace(violation, level="exempt", waived_by=exemption.reason)
    return replace(violation, level="waived", waived_by=reasons.get(violation.rule, ""))


class Analyzer(Protocol):
    """The analyzer calls the Pulumi CLI makes (the gRPC service of a policy pack)."""

    def Configure(self, request: Any, context: Any) -> Any: ...  # noqa: N802 (gRPC names)
    def Analyze(self, request: Any, context: Any) -> Any: ...  # noqa: N802
    def AnalyzeStack(self, request: Any, context: Any) -> Any: ...  # noqa: N802


def in_process_analyzer(rules: tuple[Rule, ...] = RULES) -> Analyzer:
    """The pack's own servicer, without the gRPC server `PolicyPack` would start, decoding
    each resource's properties once instead of once per rule (plinth/analyzer.py)."""
    policies: list[Policy] = [rule.policy for rule in rules]
    analyzer: Analyzer = DecodeOnceAnalyzer(PACK_NAME, PACK_VERSION, policies)
    return analyzer


def run_pack(
    entries: Sequence[Mapping[str, Any]],
    settings: Mapping[str, PolicySetting],
    rules: tuple[Rule, ...] = RULES,
    analyzer: Analyzer | None = None,
    progress: Callable[[str], None] = silent,
) -> list[Violation]:
    """Every violation the pack reports for the plan `entries` under `settings`.

    `analyzer` defaults to the pack in this process; tests pass the pack served over
    gRPC as the Pulumi CLI starts it, to show both give the same verdicts.
    """
    analyzer = analyzer if analyzer is not None else in_process_analyzer(rules)
    analyzer.Configure(_configure_request(settings), None)
    by_urn = {str(entry["urn"]): entry for entry in entries}
    types = {urn: str(entry["type"]) for urn, entry in by_urn.items()}
    # The servicer in this process reads properties by reference; one served over gRPC
    # (as the Pulumi CLI runs the pack) gets them as a Struct.
    encode = analyzer.reference if isinstance(analyzer, DecodeOnceAnalyzer) else _struct
    properties = _Properties(encode)
    violations: list[Violation] = []
    for index, entry in enumerate(entries, start=1):
        progress(f"checking resource {index} of {len(entries)}: {entry['name']}")
        request = analyzer_pb2.AnalyzeRequest(**_resource_fields(entry, by_urn, properties))
        violations += _violations(analyzer.Analyze(request, None), str(entry["urn"]), types)
    progress(f"checking the stack: {len(entries)} resources")
    stack_request = analyzer_pb2.AnalyzeStackRequest(
        resources=[_stack_resource(entry, by_urn, properties) for entry in entries]
    )
    violations += _violations(analyzer.AnalyzeStack(stack_request, None), "", types)
    return sorted(set(violations), key=_report_order)


_LEVEL_ORDER = ("mandatory", "remediate", "advisory", "waived", "exempt")


def _report_order(violation: Violation) -> tuple[int, str, str, str]:
    rank = _LEVEL_ORDER.index(violation.level) if violation.level in _LEVEL_ORDER else 0
    return (rank, violation.rule, violation.urn, violation.message)


def _configure_request(
    settings: Mapping[str, PolicySetting],
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    levels = {name: level for level, name in _LEVEL_NAMES.items()}
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, setting in sorted(settings.items()):
        config = request.policyConfig[name]
        config.enforcementLevel = levels[setting.enforcement_level]
        config.properties.update(setting.properties)
    return request


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(value), struct)
    return struct


class _Properties:
    """Each resource's inputs as a protobuf Struct (`encode`d), built once per run of the
    pack: a resource is sent in its own request, in the stack's, and as the provider of
    others."""

    def __init__(self, encode: Callable[[Mapping[str, Any]], struct_pb2.Struct]) -> None:
        self._encode = encode
        self._structs: dict[str, struct_pb2.Struct] = {}

    def of(self, entry: Mapping[str, Any]) -> struct_pb2.Struct:
        urn = str(entry["urn"])
        if urn not in self._structs:
            self._structs[urn] = self._encode(entry.get("inputs") or {})
        return self._structs[urn]


def _resource_fields(
    entry: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]], properties: _Properties
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": entry["type"],
        "properties": properties.of(entry),
        "urn": entry["urn"],
        "name": entry["name"],
        "options": analyzer_pb2.AnalyzerResourceOptions(
            protect=bool(entry.get("protect")),
            ignoreChanges=list(entry.get("ignore_changes") or []),
            aliases=list(entry.get("aliases") or []),
            parent=str(entry.get("parent") or ""),
        ),
    }
    provider = by_urn.get(provider_urn(str(entry.get("provider") or "")))
    if provider is not None:
        fields["provider"] = analyzer_pb2.AnalyzerProviderResource(
            type=provider["type"],
            properties=properties.of(provider),
            urn=provider["urn"],
            name=provider["name"],
        )
    return fields


def _stack_resource(
    entry: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]], properties: _Properties
) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        **_resource_fields(entry, by_urn, properties),
        parent=str(entry.get("parent") or ""),
        dependencies=list(entry.get("dependencies") or []),
    )


def _violations(
    response: analyzer_pb2.AnalyzeResponse, urn: str, types: Mapping[str, str]
) -> list[Violation]:
    found = []
    for diagnostic in response.diagnostics:
        where = diagnostic.urn or urn
        # The pack prefixes every message with the rule's description; keep the detail.
        detail = diagnostic.message.removeprefix(diagnostic.description).strip()
        found.append(
            Violation(
                level=_LEVEL_NAMES[diagnostic.enforcementLevel],
                rule=diagnostic.policyName,
                urn=where,
                resource_type=types.get(where, ""),
                message=detail or diagnostic.description,
                severity=_SEVERITY_NAMES[diagnostic.severity],
            )
        )
    return found
