"""Every rule of the pack, in one tuple, and the policy config file of each tier."""

from __future__ import annotations

from typing import Any

from policies.aws import eks, iam, rds, s3
from policies.azure import aks, storage
from policies.framework import Rule
from policies.kubernetes import (
    charts,
    cloudnative_pg,
    gpu,
    images,
    mlflow,
    monitoring,
    namespaces,
    pod_security,
    resources,
    root_filesystem,
    services,
)
from policies.mesh import gateway_tls, mtls
from policies.stack import attribution, ownership, protection

PACK_NAME = "plinth"
PACK_VERSION = "0.1.0"

# By area; the JSON report lists the rules in this order.
RULES: tuple[Rule, ...] = (
    *pod_security.RULES,
    *resources.RULES,
    *images.RULES,
    *root_filesystem.RULES,
    *namespaces.RULES,
    *gpu.RULES,
    *services.RULES,
    *mtls.RULES,
    *gateway_tls.RULES,
    *charts.RULES,
    *monitoring.RULES,
    *mlflow.RULES,
    *cloudnative_pg.RULES,
    *s3.RULES,
    *eks.RULES,
    *iam.RULES,
    *rds.RULES,
    *storage.RULES,
    *aks.RULES,
    *protection.RULES,
    *ownership.RULES,
    *attribution.RULES,
)


def tier_policy_config(tier: str) -> dict[str, Any]:
    """The `--policy-pack-config` file of `tier`: each rule's level and tier knobs."""
    return {rule.name: rule.config_for(tier) for rule in sorted(RULES, key=lambda r: r.name)}
