"""Workload exemptions that components declare, added to an environment's policy config.

A component that deploys a workload which truly needs the node (the NVIDIA device plugin,
the DCGM exporter) names exactly that workload and exactly the rules it needs, with the
reason (`components.args.WorkloadExemption`). They join the environment's own
`exemptWorkloads`, so `plinth check` and `pulumi preview --policy-pack-config` (through
`plinth policy-config`) exempt the same workloads, and every report lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.args import WorkloadExemption
from stacks.config import PlatformConfig


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
