"""Renames that keep state: the one place where components' former names are recorded.

Every child resource is named after its component (`prod-storage-datasets` is bucket
`datasets` of component `prod-storage`), so names are an external contract: Pulumi
identifies resources by them. Renaming a component without more makes Pulumi create new
buckets, keys and volumes and delete the old ones, with their data.

To rename a component, change its name where it is built and record the old name here,
`"<new name>": ("<old name>",)`. The component then carries an alias to each old name,
its children inherit the alias, and Pulumi moves every resource to its new name in place.
`plinth diff ENV --rev main` shows the result before anything runs: it exits 3 when a
stateful resource would still be replaced or deleted, unless DATA_MIGRATED below records
that its data was moved (or may go).
"""

from __future__ import annotations

import pulumi

RENAMED: dict[str, tuple[str, ...]] = {}

# Stateful resources whose data has been moved elsewhere or may go, by resource name (the
# name before the change), with where it went or why: `"prod-jobs-volume-scratch": "moved
# to prod-storage-datasets, TICKET-123"`. `plinth diff` then reports their deletion or
# replacement without exit code 3. Remove an entry once the change is deployed.
DATA_MIGRATED: dict[str, str] = {}


def component_options(name: str, **options: object) -> pulumi.ResourceOptions:
    """Options for the top-level component `name`: an alias to each of its former names
    recorded in RENAMED, plus `options`."""
    aliases = [pulumi.Alias(name=old) for old in RENAMED.get(name, ())]
    return pulumi.ResourceOptions(aliases=aliases or None, **options)  # type: ignore[arg-type]


# Replacements a change makes on purpose, by resource name (after the change), with why:
# `"prod-nodes-gpu": "instance types changed, TICKET-123"`. tests/stacks/test_no_replacements.py
# fails on any other replacement the last change makes in any environment. Remove an entry
# once the change is deployed.
EXPECTED_REPLACEMENTS: dict[str, str] = {}
