"""Every rule of the pack, in one tuple, and the policy config file of each tier."""

from __future__ import annotations

from typing import Any

from policies import (
    charts,
    cloud_aws,
    cloud_azure,
    gpu,
    namespaces,
    services,
    stack,
    workloads,
)
from policies.framework import Rule

PACK_NAME = "plinth"
PACK_VERSION = "0.1.0"

RULES: tuple[Rule, ...] = (
    *workloads.RULES,
    *namespaces.RULES,
    *gpu.RULES,
    *services.RULES,
    *charts.RULES,
    *cloud_aws.RULES,
    *cloud_azure.RULES,
    *stack.RULES,
)


def tier_policy_config(tier: str) -> dict[str, Any]:
    """The `--policy-pack-config` file of `tier`: each rule's level and tier knobs."""
    return {rule.name: rule.config_for(tier) for rule in sorted(RULES, key=lambda r: r.name)}
