"""Running policy rules on hand-built resources, the way `plinth check` runs them.

Rule tests build plan entries with `entry`/`kubernetes`, then ask `violations` for what
the pack reports under a tier's policy config (plus optional overrides), so defaults from
config schemas and per-tier levels apply exactly as in `plinth check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plinth.check import Violation, run_pack
from plinth.policy_config import layer_policy_configs, resolve_policy_config
from policies.registry import tier_policy_config

STACK = "urn:pulumi:test::plinth::pulumi:pulumi:Stack::plinth-test"


def entry(
    resource_type: str,
    inputs: Mapping[str, Any],
    *,
    name: str = "subject",
    protect: bool = False,
    provider: str = "",
    parent: str = "",
    dependencies: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A plan entry as `plinth synth` records it."""
    return {
        "urn": f"urn:pulumi:test::plinth::{resource_type}::{name}",
        "type": resource_type,
        "name": name,
        "parent": parent or STACK,
        "custom": True,
        "remote": False,
        "provider": provider,
        "providers": {},
        "dependencies": list(dependencies),
        "protect": protect,
        "retain_on_delete": False,
        "delete_before_replace": False,
        "ignore_changes": [],
        "replace_on_changes": [],
        "aliases": list(aliases),
        "inputs": dict(inputs),
    }


def kubernetes(
    api_version: str, kind: str, obj: Mapping[str, Any], **options: Any
) -> dict[str, Any]:
    """A plan entry of a Kubernetes object (typed or custom resource)."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    name = str(obj.get("metadata", {}).get("name", "subject"))
    inputs = {"apiVersion": api_version, "kind": kind, **obj}
    return entry(
        f"kubernetes:{group_version}:{kind}", inputs, name=options.pop("name", name), **options
    )


def violations(
    *entries: Mapping[str, Any],
    tier: str = "prod",
    config: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """What the pack reports for `entries` under `tier`'s config plus `config`."""
    layered = layer_policy_configs(tier_policy_config(tier), config or {})
    return run_pack(list(entries), resolve_policy_config(layered, f"{tier} (test)"))


def hits(rule: str, *entries: Mapping[str, Any], **kwargs: Any) -> list[Violation]:
    """The violations of one rule only."""
    return [found for found in violations(*entries, **kwargs) if found.rule == rule]
