"""`plinth diff`: what changes between two plans, and which changes replace data.

Two lists of plan entries (see plinth/engine.py) are compared the way the Pulumi engine
compares a program with its last deployment:

1. resources are matched by URN, then through their aliases (`aliases=` options, and
   those a child inherits from an aliased parent);
2. a custom resource whose URN disappears while one of the same type with the same inputs
   appears under another URN, with no alias between them, is a rename: the engine deletes
   the old one and creates the new one, a replacement;
3. for matched resources, the inputs are compared leaf by leaf (paths ignored by
   `ignore_changes` dropped); a change replaces when the provider forces it
   (plinth/replacement.py), when it falls under `replace_on_changes`, or when the
   resource's provider is itself replaced.

A replaced resource of a type in `STATEFUL_TYPES` loses its data: those are what the
command flags. Everything here is a pure function of the entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from plinth.engine import STACK_TYPE, URN_PREFIX, provider_urn, split_urn
from plinth.replacement import (
    PropertyPath,
    contains,
    deletes_before_creating,
    forced_replacement_paths,
    format_path,
    parse_path,
    provider_replacement_keys,
    replaces,
    update_notes,
)
from policies.stateful import STATEFUL_TYPES

Action = Literal["create", "delete", "update", "replace"]
ACTIONS: tuple[Action, ...] = ("create", "delete", "update", "replace")
HEADINGS = {"create": "added", "delete": "removed", "update": "changed", "replace": "replaced"}
SYMBOLS = {"create": "+", "delete": "-", "update": "~", "replace": "±"}
OPTIONS = (
    "protect",
    "retain_on_delete",
    "delete_before_replace",
    "ignore_changes",
    "replace_on_changes",
)


@dataclass(frozen=True)
class PathChange:
    """One changed input: its path, whether it was added, removed or changed, and whether
    the change replaces the resource."""

    path: str
    change: Literal["added", "removed", "changed"]
    replaces: bool = False


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource. `urn` is the new URN (the old one for a deletion);
    `previous_urn` is set when the resource moved to a new URN."""

    action: Action
    urn: str
    type: str
    name: str
    stateful: bool
    paths: tuple[PathChange, ...] = ()
    options: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    previous_urn: str | None = None
    delete_first: bool = False
    notes: tuple[str, ...] = ()

    @property
    def loses_data(self) -> bool:
        """A stateful resource deleted and created again: its data is gone."""
        return self.stateful and self.action == "replace"


@dataclass(frozen=True)
class PlanDiff:
    """Every resource that changes between two plans, sorted by action then URN."""

    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)

    def of(self, action: Action) -> tuple[ResourceChange, ...]:
        """The changes with that action."""
        return tuple(change for change in self.changes if change.action == action)

    @property
    def stateful_replacements(self) -> tuple[ResourceChange, ...]:
        """Replacements of resources that hold data."""
        return tuple(change for change in self.changes if change.loses_data)


def diff_plans(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    *,
    follow_providers: bool = True,
) -> PlanDiff:
    """How `after` differs from `before` (two plans' entries).

    With `follow_providers` false a replaced provider does not replace the resources it
    manages: right when comparing two environments, which deploy to different clusters.
    """
    old = {entry["urn"]: entry for entry in before}
    new = {entry["urn"]: entry for entry in after}
    matched = _match(old, new)
    renamed = _renames(old, new, matched)
    changes: list[ResourceChange] = []
    for new_urn, old_urn in sorted(matched.items()):
        change = _compare(old[old_urn], new[new_urn], old, new, follow_providers)
        if change is not None:
            changes.append(change)
    for new_urn, old_urn in sorted(renamed.items()):
        changes.append(_renamed(old[old_urn], new[new_urn]))
    gone = set(old) - set(matched.values()) - set(renamed.values())
    changes += [_whole("delete", old[urn]) for urn in sorted(gone)]
    arrived = set(new) - set(matched) - set(renamed)
    changes += [_whole("create", new[urn]) for urn in sorted(arrived)]
    changes.sort(key=lambda change: (ACTIONS.index(change.action), change.urn))
    return PlanDiff(tuple(changes))


def _match(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """New URN -> old URN, by URN first, then by alias (parents before children, so that a
    child can inherit its parent's alias)."""
    matched = {urn: urn for urn in new if urn in old}
    taken = set(matched.values())
    for urn in sorted(new, key=lambda u: (_depth(u, new), u)):
        if urn in matched:
            continue
        for alias in _alias_urns(new[urn], matched):
            if alias in old and alias not in taken:
                matched[urn] = alias
                taken.add(alias)
                break
    return matched


def _renames(
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    matched: Mapping[str, str],
) -> dict[str, str]:
    """New URN -> old URN for custom resources that moved without an alias: same type,
    same inputs, one URN gone and the other new."""
    gone = [urn for urn in sorted(old) if urn not in matched.values() and old[urn]["custom"]]
    renamed: dict[str, str] = {}
    for urn in sorted(set(new) - set(matched)):
        entry = new[urn]
        if not entry["custom"]:
            continue
        for candidate in gone:
            previous = old[candidate]
            same = previous["type"] == entry["type"] and previous["inputs"] == entry["inputs"]
            if same and candidate not in renamed.values():
                renamed[urn] = candidate
                break
    return renamed


def _compare(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    follow_providers: bool,
) -> ResourceChange | None:
    """The change of one matched resource, None when nothing changed."""
    ignored = [parse_path(path) for path in after["ignore_changes"]]
    leaves = [
        (path, kind)
        for path, kind in changed_leaves(before["inputs"], after["inputs"])
        if not any(contains(pattern, path) for pattern in ignored)
    ]
    forced = _forced(before, after, new) if after["custom"] else ()
    paths = tuple(
        PathChange(
            format_path(path),
            kind,
            after["custom"] and replaces(path, forced, after["replace_on_changes"]),
        )
        for path, kind in leaves
    )
    reasons = []
    if after["custom"] and follow_providers:
        reasons = _provider_reasons(before, after, old, new)
    options = _option_changes(before, after)
    moved = before["urn"] != after["urn"]
    if not (paths or options or reasons or moved):
        return None
    replaced = bool(reasons) or any(path.replaces for path in paths)
    return ResourceChange(
        action="replace" if replaced else "update",
        urn=after["urn"],
        type=after["type"],
        name=after["name"],
        stateful=after["type"] in STATEFUL_TYPES,
        paths=paths,
        options=options,
        reasons=tuple(reasons),
        previous_urn=before["urn"] if moved else None,
        delete_first=replaced and _deletes_first(before, after),
        notes=tuple(_notes(before, after, replaced, [path for path, _ in leaves])),
    )


def _forced(
    before: Mapping[str, Any], after: Mapping[str, Any], new: Mapping[str, Mapping[str, Any]]
) -> tuple[PropertyPath, ...]:
    """Paths the provider replaces the resource for (for a provider: its own config keys)."""
    if after["type"].startswith("pulumi:providers:"):
        keys = provider_replacement_keys(after["type"], before["inputs"], after["inputs"])
        return tuple(parse_path(key) for key in keys)
    provider_inputs = _inputs_of(after["provider"], new)
    return forced_replacement_paths(
        after["type"], before["inputs"], after["inputs"], provider_inputs
    )


def _option_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    options = [
        f"{name}: {json.dumps(before[name])} -> {json.dumps(after[name])}"
        for name in OPTIONS
        if before[name] != after[name]
    ]
    old_provider, new_provider = (provider_urn(e["provider"]) for e in (before, after))
    if old_provider != new_provider:
        names = (split_urn(urn)[3] if urn else "(default)" for urn in (old_provider, new_provider))
        options.append("provider: {} -> {}".format(*names))
    return tuple(options)


def _provider_reasons(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """The engine replaces a resource whose provider it replaces (step_generator.go,
    `providerChanged`): the new provider's `DiffConfig` against the old provider's inputs."""
    old_provider = old.get(provider_urn(before["provider"]))
    new_provider = new.get(provider_urn(after["provider"]))
    if old_provider is None or new_provider is None:
        return []
    keys = provider_replacement_keys(
        new_provider["type"], old_provider["inputs"], new_provider["inputs"]
    )
    return [f"its provider is replaced ({', '.join(keys)} changed)"] if keys else []


def _renamed(before: Mapping[str, Any], after: Mapping[str, Any]) -> ResourceChange:
    return ResourceChange(
        action="replace",
        urn=after["urn"],
        type=after["type"],
        name=after["name"],
        stateful=after["type"] in STATEFUL_TYPES,
        reasons=(
            f"renamed from {before['name']} without an alias: the engine creates it under "
            "the new URN and deletes the old one (an alias to the old URN keeps it)",
        ),
        previous_urn=before["urn"],
        notes=tuple(_notes(before, after, True, [])),
    )


def _whole(action: Action, entry: Mapping[str, Any]) -> ResourceChange:
    notes = []
    if action == "delete" and entry["protect"]:
        notes.append("protected: pulumi up refuses to delete it until it is unprotected")
    if action == "delete" and entry["retain_on_delete"]:
        notes.append("retained: Pulumi forgets it but leaves it (and its data) in place")
    return ResourceChange(
        action=action,
        urn=entry["urn"],
        type=entry["type"],
        name=entry["name"],
        stateful=entry["type"] in STATEFUL_TYPES,
        notes=tuple(notes),
    )


def _deletes_first(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    if after["delete_before_replace"]:
        return True
    return deletes_before_creating(after["type"], before["inputs"], after["inputs"])


def _notes(
    before: Mapping[str, Any], after: Mapping[str, Any], replaced: bool, paths: list[PropertyPath]
) -> Iterator[str]:
    if replaced and before["protect"]:
        yield "protected: pulumi up refuses to replace it until it is unprotected"
    if replaced and before["retain_on_delete"]:
        yield "retained: the old one is left in place, not deleted"
    if not replaced:
        yield from update_notes(after["type"], paths)


def changed_leaves(
    before: Any, after: Any, prefix: PropertyPath = ()
) -> Iterator[tuple[PropertyPath, Literal["added", "removed", "changed"]]]:
    """Every leaf path where `after` differs from `before`, in key order."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in before:
                yield from ((path, "added") for path in _leaves(after[key], (*prefix, key)))
            elif key not in after:
                yield from ((path, "removed") for path in _leaves(before[key], (*prefix, key)))
            else:
                yield from changed_leaves(before[key], after[key], (*prefix, key))
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            if index >= len(before):
                yield from ((path, "added") for path in _leaves(after[index], (*prefix, index)))
            elif index >= len(after):
                yield from ((path, "removed") for path in _leaves(before[index], (*prefix, index)))
            else:
                yield from changed_leaves(before[index], after[index], (*prefix, index))
    elif before != after or (type(before) is not type(after) and not _same_number(before, after)):
        yield prefix, "changed"


def _same_number(before: Any, after: Any) -> bool:
    numbers = (int, float)
    both = isinstance(before, numbers) and isinstance(after, numbers)
    return both and not isinstance(before, bool) and not isinstance(after, bool)


def _leaves(value: Any, prefix: PropertyPath) -> Iterator[PropertyPath]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _leaves(value[key], (*prefix, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*prefix, index))
    else:
        yield prefix


def _inputs_of(reference: str, entries: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    provider = entries.get(provider_urn(reference))
    return provider["inputs"] if provider is not None else {}


def _depth(urn: str, entries: Mapping[str, Mapping[str, Any]]) -> int:
    depth = 0
    while urn in entries:
        urn = entries[urn]["parent"]
        depth += 1
    return depth


def _alias_urns(entry: Mapping[str, Any], matched: Mapping[str, str]) -> list[str]:
    """The URNs the engine would look for `entry` under, its own aside: each alias it
    declares, then those it inherits when its parent matched an older URN (the engine's
    `collapseAliasToUrn` and `inheritedChildAlias`, with URNs built as the mock engine
    builds them)."""
    stack, project, _, _ = split_urn(entry["urn"])
    root = f"{URN_PREFIX}{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
    names_and_types = [(entry["name"], entry["type"], entry["parent"])]
    urns: list[str] = []
    for raw in entry["aliases"]:
        alias = json.loads(raw) if raw.startswith("{") else {"urn": raw}
        if alias.get("urn"):
            urns.append(alias["urn"])
            continue
        spec = alias.get("spec", {})
        parent = entry["parent"]
        if spec.get("noParent"):
            parent = root
        elif spec.get("parentUrn"):
            parent = matched.get(spec["parentUrn"], spec["parentUrn"])
        name, type_token = spec.get("name") or entry["name"], spec.get("type") or entry["type"]
        names_and_types.append((name, type_token, parent))
        urns.append(make_urn(stack, project, parent, type_token, name))
    parent_before = matched.get(entry["parent"], entry["parent"])
    if parent_before != entry["parent"]:
        parent_name = split_urn(entry["parent"])[3]
        old_parent_name = split_urn(parent_before)[3]
        for name, type_token, _ in names_and_types:
            # A child named after its parent ("{parent}-quota") had the old parent's name.
            old_name = name
            if name.startswith(parent_name):
                old_name = old_parent_name + name.removeprefix(parent_name)
            urns.append(make_urn(stack, project, parent_before, type_token, old_name))
    return urns


def make_urn(stack: str, project: str, parent: str, type_token: str, name: str) -> str:
    """A URN as Pulumi's mock monitor makes it: the parent's own type, `$`, the type."""
    if parent:
        type_token = f"{split_urn(parent)[2].split('$')[-1]}${type_token}"
    return f"{URN_PREFIX}{stack}::{project}::{type_token}::{name}"


def align_environment(
    entries: Sequence[Mapping[str, Any]], environment: str, target: str
) -> list[dict[str, Any]]:
    """`environment`'s entries named as `target`'s would be, so that two environments'
    plans match resource by resource: the stack in every URN and the environment prefix of
    resource names (`local-jobs` -> `onprem-jobs`) are replaced, nothing else."""

    def rename(name: str) -> str:
        if name == environment or name.startswith(f"{environment}-"):
            return target + name.removeprefix(environment)
        if name.endswith(f"-{environment}"):  # the root stack, <project>-<stack>
            return name.removesuffix(environment) + target
        return name

    def rename_urn(text: str) -> str:
        stack, project, qualified_type, rest = split_urn(text)
        if stack != environment:
            return text
        name = "::".join(rename(part) for part in rest.split("::"))
        return f"{URN_PREFIX}{target}::{project}::{qualified_type}::{name}"

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(child) for key, child in value.items()}
        if isinstance(value, list):
            return [walk(child) for child in value]
        if isinstance(value, str) and value.startswith(URN_PREFIX):
            return rename_urn(value)
        if isinstance(value, str) and value.startswith("{") and URN_PREFIX in value:
            return json.dumps(walk(json.loads(value)), sort_keys=True)
        return value

    aligned = []
    for entry in entries:
        renamed = walk(dict(entry))
        renamed["name"] = rename(entry["name"])
        aligned.append(renamed)
    return aligned


def format_diff(diff: PlanDiff, before: str, after: str) -> str:
    """The readable report: one group per action, stateful replacements called out."""
    lines = [f"plinth diff: {before} -> {after}"]
    if not diff.changes:
        return "\n".join([*lines, "no changes"])
    for action in ACTIONS:
        group = diff.of(action)
        if not group:
            continue
        lines += ["", f"{HEADINGS[action]} ({len(group)}):"]
        for change in group:
            lines += _describe(change)
    counts = ", ".join(f"{len(diff.of(a))} {HEADINGS[a]}" for a in ACTIONS)
    lines += ["", f"{before} -> {after}: {counts}"]
    for change in diff.stateful_replacements:
        lines.append(
            f"STATEFUL REPLACEMENT: {change.name} ({change.type}) would be deleted and "
            "created empty: its data is lost"
        )
    return "\n".join(lines)


def _describe(change: ResourceChange) -> list[str]:
    marker = ""
    if change.loses_data:
        marker = "  [STATEFUL: data is lost]"
    elif change.stateful and change.action == "delete":
        marker = "  [stateful: its data is deleted]"
    lines = [f"  {SYMBOLS[change.action]} {change.name}  {change.type}{marker}"]
    if change.previous_urn is not None:
        lines.append(f"      was {change.previous_urn}")
    symbols = {"added": "+", "removed": "-", "changed": "~"}
    for path in change.paths:
        suffix = "  (forces replacement)" if path.replaces else ""
        lines.append(f"      {symbols[path.change]} {path.path}{suffix}")
    lines += [f"      option {option}" for option in change.options]
    lines += [f"      replaced: {reason}" for reason in change.reasons]
    if change.action == "replace":
        order = "deleted first, then created" if change.delete_first else "created first"
        lines.append(f"      {order}")
    lines += [f"      note: {note}" for note in change.notes]
    return lines


def diff_document(diff: PlanDiff, before: str, after: str) -> dict[str, Any]:
    """The machine-readable report (`--format json`)."""
    return {
        "before": before,
        "after": after,
        "summary": {HEADINGS[action]: len(diff.of(action)) for action in ACTIONS},
        "stateful_replacements": [change.urn for change in diff.stateful_replacements],
        "changes": [{**asdict(change), "loses_data": change.loses_data} for change in diff.changes],
    }
