"""What the environment's components tell the policy pack, added to its policy config.

A component that deploys a workload which truly needs the node (the NVIDIA device plugin,
the DCGM exporter) names exactly that workload and exactly the rules it needs, with the
reason (`components.args.WorkloadExemption`). A component that installs controllers into
a namespace of its own makes that namespace a platform namespace: the namespace rules do
not hold it to the workload standard. Both join the environment's own config
(`exemptWorkloads`, `platformNamespaces`), so `plinth check` and `pulumi preview
--policy-pack-config` (through `plinth policy-config`) judge the same namespaces and
exempt the same workloads, and every report lists the exemptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.args import WorkloadExemption
from policies.registry import RULES
from stacks.config import PlatformConfig

PLATFORM_NAMESPACES = "platformNamespaces"


def component_exemptions(platform: PlatformConfig) -> tuple[WorkloadExemption, ...]:
    """The exemptions of the components `platform` deploys, in deployment order."""
    return tuple(
        exemption
        for component in platform.deployed_components()
        for exemption in component.exemptions(platform.args(component))
    )


def with_exemptions(
    config: Mapping[str, Any], exemptions: tuple[WorkloadExemption, ...]
) -> dict[str, Any]:
    """`config` with each exemption appended to its rule's `exemptWorkloads`."""
    merged = dict(config)
    for exemption in exemptions:
        rule = merged.get(exemption.rule, {})
        rule = {"enforcementLevel": rule} if isinstance(rule, str) else dict(rule)
        rule["exemptWorkloads"] = [*rule.get("exemptWorkloads", []), exemption.to_policy_config()]
        merged[exemption.rule] = rule
    return merged


def with_platform_namespaces(
    config: Mapping[str, Any], namespaces: tuple[str, ...]
) -> dict[str, Any]:
    """`config` with `namespaces` appended to the `platformNamespaces` of every rule that
    has the knob: to the list the config gives, else to the rule's default."""
    merged = dict(config)
    if not namespaces:
        return merged
    for rule in RULES:
        schema = rule.policy.config_schema
        if schema is None or PLATFORM_NAMESPACES not in schema.properties:
            continue
        entry = merged.get(rule.name, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        listed = entry.get(PLATFORM_NAMESPACES, schema.properties[PLATFORM_NAMESPACES]["default"])
        if not isinstance(listed, list):
            continue  # not a list: resolving the config names the key and what is wrong
        entry[PLATFORM_NAMESPACES] = [*listed, *(n for n in namespaces if n not in listed)]
        merged[rule.name] = entry
    return merged
