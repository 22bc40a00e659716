"""The shape every Plinth rule shares: a CrossGuard policy plus its enforcement per tier.

A `Rule` wraps one `pulumi_policy` policy (resource or stack) with what the pack needs
beyond it: the enforcement level in each tier (dev, staging, prod) and the config each
tier sets on top of the schema defaults. The policy's own enforcement level is its prod
level, so running the pack with no config file is as strict as prod; the per-tier files
in `policies/config/` (generated from these rules) relax dev and staging.

Validators are plain functions `(args, report_violation) -> None`; they read their knobs
with `args.get_config()`, which the Pulumi CLI (and `plinth check`) fills with the schema
defaults and the tier's config.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

TIERS = ("dev", "staging", "prod")
ADVISORY = EnforcementLevel.ADVISORY
MANDATORY = EnforcementLevel.MANDATORY

ResourceValidate = Callable[[ResourceValidationArgs, ReportViolation], None]
StackValidate = Callable[[StackValidationArgs, ReportViolation], None]


@dataclass(frozen=True)
class Levels:
    """Enforcement of a rule in each tier."""

    dev: EnforcementLevel
    staging: EnforcementLevel
    prod: EnforcementLevel

    def of(self, tier: str) -> EnforcementLevel:
        """The level in `tier` (dev, staging or prod)."""
        level: EnforcementLevel = getattr(self, tier)
        return level


MANDATORY_EVERYWHERE = Levels(MANDATORY, MANDATORY, MANDATORY)
ADVISORY_IN_DEV = Levels(ADVISORY, MANDATORY, MANDATORY)
MANDATORY_IN_PROD = Levels(ADVISORY, ADVISORY, MANDATORY)
ADVISORY_EVERYWHERE = Levels(ADVISORY, ADVISORY, ADVISORY)


@dataclass(frozen=True)
class Rule:
    """One policy of the pack with its per-tier enforcement and config."""

    policy: ResourceValidationPolicy | StackValidationPolicy
    levels: Levels
    tier_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # False for the few rules whose violation in prod hands over a node, an account or
    # the data itself: a prod environment may exempt one named workload, never waive them.
    waivable_in_prod: bool = True

    @property
    def name(self) -> str:
        """The rule's kebab-case name, as reports and config files use it."""
        return str(self.policy.name)

    def config_for(self, tier: str) -> dict[str, Any]:
        """This rule's entry in the tier's policy config file."""
        return {"enforcementLevel": self.levels.of(tier).value, **self.tier_config.get(tier, {})}


def resource_rule(
    name: str,
    description: str,
    validate: ResourceValidate,
    *,
    severity: Severity,
    remediation: str,
    levels: Levels = ADVISORY_IN_DEV,
    config: Mapping[str, dict[str, Any]] | None = None,
    tier_config: Mapping[str, Mapping[str, Any]] | None = None,
    waivable_in_prod: bool = True,
) -> Rule:
    """A rule that looks at one resource's inputs at a time."""
    policy = ResourceValidationPolicy(
        name, description, validate=validate, **_metadata(severity, remediation, levels, config)
    )
    return Rule(policy, levels, dict(tier_config or {}), waivable_in_prod)


def stack_rule(
    name: str,
    description: str,
    validate: StackValidate,
    *,
    severity: Severity,
    remediation: str,
    levels: Levels = ADVISORY_IN_DEV,
    config: Mapping[str, dict[str, Any]] | None = None,
    tier_config: Mapping[str, Mapping[str, Any]] | None = None,
    waivable_in_prod: bool = True,
) -> Rule:
    """A rule that looks at every resource of the stack at once."""
    policy = StackValidationPolicy(
        name, description, validate=validate, **_metadata(severity, remediation, levels, config)
    )
    return Rule(policy, levels, dict(tier_config or {}), waivable_in_prod)


def _metadata(
    severity: Severity,
    remediation: str,
    levels: Levels,
    config: Mapping[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    # The policy's own level is its prod level: the pack without a config file is prod.
    return {
        "enforcement_level": levels.prod,
        "config_schema": PolicyConfigSchema(dict(config)) if config else None,
        "severity": severity,
        "remediation_steps": remediation,
    }


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) pair below `value`, lists indexed as `[i]`.

    A value unknown during preview raises pulumi-policy's UnknownValueError, which the
    pack reports as "can't run policy" (advisory), as the Pulumi CLI does.
    """
    yield path, value
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from walk(value[key], f"{path}.{key}" if path else str(key))
    elif _is_list(value):
        for index, child in enumerate(value):
            yield from walk(child, f"{path}[{index}]")


def _is_list(value: Any) -> bool:
    # The analyzer hands rules read-only proxies: lists arrive as Sequences, not lists.
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def sequence(value: Any) -> Sequence[Any]:
    """`value` if it is a list (or a pulumi-policy list proxy), else empty."""
    return value if _is_list(value) else ()


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a map (or a pulumi-policy map proxy), else empty."""
    return value if isinstance(value, Mapping) else {}


def dig(value: Any, *keys: str | int) -> Any:
    """`value[k1][k2]...`, or None where any step is missing or of the wrong shape."""
    for key in keys:
        if isinstance(key, int):
            if not _is_list(value) or key >= len(value):
                return None
        elif not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def environment_key(rule: str, knob: str) -> str:
    """Where an environment file sets `knob` of `rule`, as messages name it."""
    return f"plinth:policy.config.{rule}.{knob}"


def shown(value: Any) -> str:
    """An input value as a message shows it: JSON, or `unset`."""
    return "unset" if value is None else json.dumps(value)


def string_list_schema(description: str, default: tuple[str, ...] = ()) -> dict[str, Any]:
    """The config schema of a knob that is a list of strings."""
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": list(default),
        "description": description,
    }
