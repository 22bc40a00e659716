"""Rules: cloud_azure (being written)."""

from __future__ import annotations

from policies.framework import Rule

RULES: tuple[Rule, ...] = ()
