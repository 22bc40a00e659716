"""Policy pack config, resolved the way the Pulumi CLI resolves `--policy-pack-config`.

The CLI (pkg/resource/analyzer/config.go in pulumi/pulumi) starts every policy from its
own enforcement level and its schema's `default`s, applies the file on top (a string
value is an enforcement level; an object may carry `enforcementLevel` and properties; the
key `all` sets every policy's level), then validates each policy's properties against its
schema. `resolve_policy_config` does the same, so `plinth check` configures the pack with
exactly what `pulumi preview --policy-pack policies --policy-pack-config FILE` would.

The file of each tier is generated from the rules (`python -m plinth.policy_config`
rewrites `policies/config/<tier>.json`); an environment's `plinth:policy` waivers are
applied on top of it (`plinth policy-config ENV` prints the result for the CLI).

`find_deviations` then audits the resolved config against the tier: every level below
the tier's must be a declared waiver, every exemption carries a reason of real words, a
wildcard exemption counts as a waiver, and prod waives no rule that is not waivable there
(docs/threat-model.md). What it finds is what the reports list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from policies.framework import TIERS, Rule
from policies.registry import RULES, tier_policy_config
from stacks.config import ConfigError, PolicyWaiver, reason_problem
from stacks.text import escape_controls

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"


class PolicyConfigError(ConfigError):
    """A policy config file or waiver the CLI would refuse, explained in one line."""

    def __init__(self, message: str) -> None:
        # Rule names and values from a config file are quoted in the message.
        super().__init__(escape_controls(message))


@dataclass(frozen=True)
class PolicySetting:
    """One policy's resolved enforcement level and properties."""

    enforcement_level: str
    properties: dict[str, Any]


def resolve_policy_config(
    config: Mapping[str, Any], source: str, rules: tuple[Rule, ...] = RULES
) -> dict[str, PolicySetting]:
    """Every rule's setting after applying `config` (a parsed config file) to the defaults."""
    result = {rule.name: _defaults(rule) for rule in rules}
    given = _parse(config, source)
    everything = given.pop("all", None)
    if everything is not None and everything.enforcement_level:
        for name, setting in result.items():
            result[name] = PolicySetting(everything.enforcement_level, setting.properties)
    for name, setting in given.items():
        current = result.get(name, PolicySetting("", {}))
        result[name] = PolicySetting(
            setting.enforcement_level or current.enforcement_level,
            {**current.properties, **setting.properties},
        )
    for rule in rules:
        _validate(rule, result[rule.name].properties, source)
    return result


def _defaults(rule: Rule) -> PolicySetting:
    schema = rule.policy.config_schema
    properties = {
        key: spec["default"]
        for key, spec in (schema.properties if schema else {}).items()
        if "default" in spec
    }
    level = rule.policy.enforcement_level
    return PolicySetting(level.value if level else "advisory", properties)


def _parse(config: Mapping[str, Any], source: str) -> dict[str, PolicySetting]:
    parsed: dict[str, PolicySetting] = {}
    for name, value in config.items():
        if isinstance(value, str):
            parsed[name] = PolicySetting(_level(value, name, source), {})
        elif isinstance(value, Mapping):
            properties = dict(value)
            level = properties.pop("enforcementLevel", "")
            if not isinstance(level, str):
                raise PolicyConfigError(
                    f"{source}: {name}.enforcementLevel: {level!r} is not a string; "
                    f"use one of {', '.join(LEVELS)}"
                )
            parsed[name] = PolicySetting(_level(level, name, source) if level else "", properties)
        else:
            raise PolicyConfigError(
                f"{source}: {name}: {value!r} is neither an enforcement level nor an object; "
                'write "mandatory" or {"enforcementLevel": "advisory", ...}'
            )
    return parsed


def _level(value: str, name: str, source: str) -> str:
    if value not in LEVELS:
        raise PolicyConfigError(
            f"{source}: {name}: {value!r} is not an enforcement level; "
            f"use one of {', '.join(LEVELS)}"
        )
    return value


def _validate(rule: Rule, properties: Mapping[str, Any], source: str) -> None:
    schema = rule.policy.config_schema
    document: dict[str, Any] = {"type": "object"}
    if schema is not None and schema.properties:
        document["properties"] = schema.properties
    if schema is not None and schema.required:
        document["required"] = schema.required
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft7Validator(document).iter_errors(properties)
    )
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise PolicyConfigError(
            f"{source}: {rule.name}{'.' + where if where else ''}: {error.message}; "
            f"see the rule's config schema in policies/README.md"
        )


# Ranks of enforcement levels: a rule below its tier's rank is waived. `remediate` fixes
# the resource or, for a rule without a remediation, blocks like `mandatory`.
LEVEL_RANK = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}
GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Waiver:
    """A rule running below its tier's level in one environment, and the reason why."""

    rule: str
    tier_level: str
    level: str
    reason: str


@dataclass(frozen=True)
class Exemption:
    """A workload one rule skips (an `exemptWorkloads` entry), and the reason why.

    A namespace or name with a glob character exempts more than one named workload, so it
    is a waiver of the rule for every workload it matches, and treated as one.
    """

    rule: str
    namespace: str
    name: str
    reason: str

    @property
    def wildcard(self) -> bool:
        """Whether it matches more than one named workload."""
        return bool(GLOB_CHARACTERS & set(self.namespace + self.name))


@dataclass(frozen=True)
class Deviations:
    """Everything in an environment's resolved policy config that lets a finding through."""

    waivers: tuple[Waiver, ...]
    exemptions: tuple[Exemption, ...]

    def affected_rules(self) -> set[str]:
        """Rules whose findings the waivers and exemptions lower or hide."""
        return {w.rule for w in self.waivers} | {e.rule for e in self.exemptions}


def find_deviations(
    settings: Mapping[str, PolicySetting],
    tier: str,
    declared: Mapping[str, PolicyWaiver],
    locate: Callable[[str], str],
    rules: tuple[Rule, ...] = RULES,
) -> Deviations:
    """The waivers and exemptions in `settings` (a resolved config) against `tier`'s levels.

    `declared` are the environment's waivers, with their reasons; a level lowered anywhere
    else (a rule's config, a `--policy-config` file, `all`) is an error, as is a reason
    that is not words, or any waiver in prod of a rule that is not waivable in prod.
    `locate("rule.key")` says where in the config a key is written, for error messages.
    """
    waivers: list[Waiver] = []
    exemptions: list[Exemption] = []
    for rule in sorted(rules, key=lambda r: r.name):
        setting = settings[rule.name]
        waiver = _lowered(rule, setting.enforcement_level, tier, declared.get(rule.name), locate)
        if waiver is not None:
            waivers.append(waiver)
        exemptions += _exemptions(rule, setting.properties, tier, locate)
    return Deviations(tuple(waivers), tuple(exemptions))


def _lowered(
    rule: Rule,
    level: str,
    tier: str,
    declared: PolicyWaiver | None,
    locate: Callable[[str], str],
) -> Waiver | None:
    tier_level = rule.levels.of(tier).value
    if LEVEL_RANK[level] >= LEVEL_RANK[tier_level]:
        return None
    where = locate(f"{rule.name}.enforcementLevel")
    if declared is None:
        raise PolicyConfigError(
            f"{where}: {level!r} is below the {tier} tier's {tier_level!r} and no waiver "
            f"declares it: remove it, or declare plinth:policy.waivers.{rule.name} "
            "(enforcement_level and a reason) in the environment file"
        )
    if LEVEL_RANK[level] < LEVEL_RANK[declared.enforcement_level]:
        raise PolicyConfigError(
            f"{where}: {level!r} is below the {declared.enforcement_level!r} its waiver "
            f"declares: raise it, or change plinth:policy.waivers.{rule.name}"
        )
    refuse_prod_waiver(rule, tier, where)
    return Waiver(rule.name, tier_level, level, declared.reason)


def refuse_prod_waiver(rule: Rule, tier: str, where: str) -> None:
    """A one-line error when `rule` may not be waived in `tier`."""
    if tier == "prod" and not rule.waivable_in_prod:
        raise PolicyConfigError(
            f"{where}: {rule.name} can never be waived in prod (docs/threat-model.md): fix "
            "what it reports, or exempt one named workload (namespace and name, no "
            "wildcards) where the rule takes exemptWorkloads"
        )


def _exemptions(
    rule: Rule, properties: Mapping[str, Any], tier: str, locate: Callable[[str], str]
) -> list[Exemption]:
    schema = rule.policy.config_schema
    if schema is None or "exemptWorkloads" not in schema.properties:
        return []  # the rule takes no exemptions: the key is ignored, as the CLI does
    found = []
    for index, entry in enumerate(properties.get("exemptWorkloads") or ()):
        where = locate(f"{rule.name}.exemptWorkloads[{index}]")
        exemption = Exemption(
            rule.name, str(entry["namespace"]), str(entry["name"]), str(entry["reason"]).strip()
        )
        problem = reason_problem(exemption.reason)
        if problem:
            raise PolicyConfigError(f"{where}.reason: the reason {problem}")
        if exemption.wildcard:
            refuse_prod_waiver(rule, tier, where)
        found.append(exemption)
    return found


def layer_policy_configs(*configs: Mapping[str, Any]) -> dict[str, Any]:
    """Config files applied in order: a later file's entry for a rule refines the earlier."""
    layered: dict[str, Any] = {}
    for config in configs:
        for name, value in config.items():
            earlier = layered.get(name, {})
            earlier = {"enforcementLevel": earlier} if isinstance(earlier, str) else earlier
            later = {"enforcementLevel": value} if isinstance(value, str) else value
            layered[name] = {**earlier, **later} if isinstance(later, Mapping) else later
    return layered


def load_policy_config_file(path: Path) -> dict[str, Any]:
    """A `--policy-pack-config` JSON file, parsed; a one-line error when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyConfigError(f"{path}: cannot read it ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise PolicyConfigError(
            f"{path}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{path}: expected a JSON object of policy names, got {document!r}")
    return document


def render_tier_file(tier: str) -> str:
    """The committed `policies/config/<tier>.json`, as text."""
    return json.dumps(tier_policy_config(tier), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite the tier files (`--check`: only report whether they are current)."""
    stale = []
    for tier in TIERS:
        path = CONFIG_DIR / f"{tier}.json"
        text = render_tier_file(tier)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if '--check' in argv else 'wrote'} {path}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
