"""The reports of `plinth diff`: text for people, JSON for scripts.

Changes are grouped by the top-level component they belong to (a node pool, the jobs
namespace, the network), which is how a reviewer reads a change: one group per component,
with its counts. The text shows the old and the new value of every changed input, as
`pulumi preview --diff` and `terraform plan` do (`~ spec.replicas: 2 -> 3`), and for every
replaced resource what forces it (`replaced: spec.storageClassName changed, and ...
cannot change it in place`). Values are printed as JSON,
so strings are quoted and escaped; anything else a terminal would interpret (control
characters, ANSI escapes, bidirectional marks, line separators) is escaped too, in every
line, because resource names and values come from configuration. A long value is cut to
a window around where the two values start to differ, with its full length. Secrets are
never in a plan in clear (`[secret]`), and plinth/diff.py hides both sides of a value that
either side marks secret. The JSON report carries the full values (escaped by JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from plinth.diff import ACTIONS, Action, PathChange, PlanDiff, ResourceChange
from stacks.text import escape_controls

MAX_VALUE_CHARS = 72
# Characters of a long value shown before the first difference, so the reader sees where
# in the value the change is.
LEAD_CHARS = 24
SYMBOLS = {"create": "+", "delete": "-", "update": "~", "replace": "±"}
PATH_SYMBOLS = {"added": "+", "removed": "-", "changed": "~"}
HEADINGS: dict[Action, str] = {
    "create": "added",
    "delete": "removed",
    "update": "changed",
    "replace": "replaced",
}


def format_diff(diff: PlanDiff, before: str, after: str) -> str:
    """The readable report: one group per top-level component, data losses called out at
    the end."""
    lines = _title(diff, before, after)
    if not diff.changes:
        return "\n".join(escape_controls(line) for line in [*lines, "no changes"])
    headings = _headings(diff, before, after)
    lines.append("  ".join(f"{SYMBOLS[a]} {headings[a]}" for a in ACTIONS if a in headings))
    for component, component_type, changes in diff.by_component():
        counts = _counts(changes, headings, skip_zero=True)
        lines += ["", f"{component} ({component_type}): {counts}"]
        for change in changes:
            lines += _describe(change, diff.between_environments)
    separator = " vs " if diff.between_environments else " -> "
    lines += ["", f"{before}{separator}{after}: {_counts(diff.changes, headings)}"]
    lines += [_loss_line(change) for change in diff.data_losses]
    return "\n".join(escape_controls(line) for line in lines)


def _counts(
    changes: Sequence[ResourceChange], headings: Mapping[Action, str], *, skip_zero: bool = False
) -> str:
    """`1 added, 2 changed`: how many changes of each action, in the order of ACTIONS."""
    numbers = {action: sum(1 for c in changes if c.action == action) for action in headings}
    return ", ".join(
        f"{numbers[a]} {headings[a]}"
        for a in ACTIONS
        if a in headings and (numbers[a] or not skip_zero)
    )


def _title(diff: PlanDiff, before: str, after: str) -> list[str]:
    if not diff.between_environments:
        return [f"plinth diff: {before} -> {after}"]
    return [
        f"plinth diff: environment {before} vs environment {after}",
        "two environments are two deployments: this lists how they differ; nothing is "
        "replaced or deleted by it ('cannot change in place' marks fields whose change "
        "within one environment would replace the resource)",
    ]


def _headings(diff: PlanDiff, before: str, after: str) -> dict[Action, str]:
    if not diff.between_environments:
        return dict(HEADINGS)
    return {"create": f"only in {after}", "delete": f"only in {before}", "update": "different"}


def _loss_line(change: ResourceChange) -> str:
    if change.action == "replace":
        return (
            f"STATEFUL REPLACEMENT: {change.name} ({change.type}) would be deleted and "
            "created empty: its data is lost"
        )
    return (
        f"STATEFUL DELETION: {change.name} ({change.type}) would be deleted with its data "
        "(keep it, or record where the data went in stacks/migrations.py DATA_MIGRATED)"
    )


def _marker(change: ResourceChange) -> str:
    if change.between_environments or not change.stateful:
        return ""
    if change.loses_data:
        return "  [STATEFUL: data is lost]"
    if change.migrated is not None:
        return "  [stateful: data migrated]"
    if change.action == "delete" and change.protected:
        return "  [stateful, protected: pulumi up refuses to delete it]"
    if change.action == "delete" and change.retained:
        return "  [stateful, retained: its data stays]"
    return ""


def _describe(change: ResourceChange, between_environments: bool) -> list[str]:
    lines = [f"  {SYMBOLS[change.action]} {change.name}  {change.type}{_marker(change)}"]
    if change.previous_urn is not None:
        lines.append(f"      was {change.previous_urn}")
    forcing = "  (cannot change in place)" if between_environments else "  (forces replacement)"
    for path in change.paths:
        suffix = forcing if path.replaces else ""
        lines.append(f"      {PATH_SYMBOLS[path.change]} {path.path}: {_values(path)}{suffix}")
    lines += [f"      option {option}" for option in change.options]
    lines += [f"      replaced: {reason}" for reason in change.reasons]
    if change.action == "replace":
        order = "deleted first, then created" if change.delete_first else "created first"
        lines.append(f"      {order}")
    lines += [f"      note: {note}" for note in change.notes]
    return lines


def _values(path: PathChange) -> str:
    """`old -> new`, or the one value of an added or removed path."""
    old, new = render_value(path.before), render_value(path.after)
    if path.change == "added":
        return _window(new, 0)
    if path.change == "removed":
        return _window(old, 0)
    start = _window_start(old, new)
    return f"{_window(old, start)} -> {_window(new, start)}"


def render_value(value: Any) -> str:
    """A value as compact JSON (strings quoted and escaped), safe for a terminal."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return escape_controls(text)


def _window_start(old: str, new: str) -> int:
    """Where a window over both values starts: shortly before their first difference."""
    common = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    return max(0, common - LEAD_CHARS)


def _window(text: str, start: int) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    start = min(start, len(text) - MAX_VALUE_CHARS)
    head = "..." if start > 0 else ""
    tail = "..." if start + MAX_VALUE_CHARS < len(text) else ""
    return f"{head}{text[start : start + MAX_VALUE_CHARS]}{tail} ({len(text)} chars)"


def diff_document(diff: PlanDiff, before: str, after: str) -> dict[str, Any]:
    """The machine-readable report (`--format json`): every change with full values (each
    naming its `component`), and the components with their counts and changes' URNs."""
    return {
        "before": before,
        "after": after,
        "comparison": "environments" if diff.between_environments else "revisions",
        "summary": _summary(diff.changes),
        "components": [
            {
                "component": component,
                "type": component_type,
                "summary": _summary(changes),
                "changes": [change.urn for change in changes],
            }
            for component, component_type, changes in diff.by_component()
        ],
        "data_loss": [change.urn for change in diff.data_losses],
        "stateful_replacements": [change.urn for change in diff.stateful_replacements],
        "changes": [{**asdict(change), "loses_data": change.loses_data} for change in diff.changes],
    }


def _summary(changes: Sequence[ResourceChange]) -> dict[str, int]:
    return {HEADINGS[a]: sum(1 for c in changes if c.action == a) for a in ACTIONS}
