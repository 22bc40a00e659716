"""`plinth diff`: what changes between two plans, and which changes lose data.

Two lists of plan entries (see plinth/engine.py) are compared the way the Pulumi engine
compares a program with its last deployment:

1. resources are matched by URN, then through their aliases (`aliases=` options, and
   those a child inherits from an aliased parent);
2. a custom resource whose URN disappears while one of the same type appears under
   another URN, with no alias between them, is a rename when the two are alike (most of
   their input values equal; among equals, the closest names): the engine creates the new
   one and deletes the old one, a replacement, whatever else changed with it;
3. for matched resources, the inputs are compared leaf by leaf (paths ignored by
   `ignore_changes` dropped); a change replaces when the provider forces it
   (plinth/replacement.py), when it falls under `replace_on_changes`, or when the
   resource's provider configuration changes under it (a new cluster, a new region);
4. a replacement carries over to what refers to the replaced resource at a force-new
   input (its id, name or ARN is new: a new VPC means new subnets, new node groups).

A resource of a type in `STATEFUL_TYPES` that is replaced or deleted loses its data,
unless it is deleted while protected (`pulumi up` refuses) or retained, or its loss is
recorded in `stacks/migrations.py` (`DATA_MIGRATED`). Two environments are two
deployments: comparing them never loses anything. Everything here is a pure function of
the entries; plinth/diff_report.py prints the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any, Literal

from plinth.engine import STACK_TYPE, URN_PREFIX, make_urn, provider_urn, split_urn
from plinth.replacement import (
    Forcing,
    PropertyPath,
    contains,
    deletes_before_creating,
    forced_replacement_paths,
    forcing,
    format_path,
    has_replacement_rules,
    parse_path,
    provider_replacement_keys,
    replaces,
    resources_replaced_by_provider,
    update_notes,
)
from policies.stack.stateful import STATEFUL_TYPES
from stacks.config import SECRET_PLACEHOLDER_START

Action = Literal["create", "delete", "update", "replace"]
Kind = Literal["added", "removed", "changed"]
ACTIONS: tuple[Action, ...] = ("create", "delete", "update", "replace")
OPTIONS = (
    "protect",
    "retain_on_delete",
    "delete_before_replace",
    "ignore_changes",
    "replace_on_changes",
)
SECRET = "[secret]"  # noqa: S105 (how plans mark a secret value)
# Changed paths named in one replacement reason before "and N more".
MAX_PATHS_IN_REASON = 3
# Share of equal input values above which an unaliased resource that moved to a new URN
# is taken for the old one renamed (a volume key renamed along with its size, say).
RENAME_SIMILARITY = 0.5


@dataclass(frozen=True)
class PathChange:
    """One changed input: its path, whether it was added, removed or changed, whether the
    change replaces the resource, and the values before and after (None where absent;
    secrets are `[secret]` on both sides)."""

    path: str
    change: Kind
    replaces: bool = False
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource. `urn` is the new URN (the old one for a deletion);
    `previous_urn` is set when the resource moved to a new URN. `protected` and
    `retained` are the options of the resource as deployed (the old side); `migrated` is
    the reason recorded in stacks/migrations.py for letting its data go. `component` and
    `component_type` name the top-level resource it belongs to (its parent chain's last
    resource below the stack; itself when it is top-level). A replacement's `reasons` say
    what forces it: the changed fields its provider cannot change in place, its
    `replace_on_changes`, its provider, a rename, or a replaced resource it refers to."""

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
    protected: bool = False
    retained: bool = False
    migrated: str | None = None
    between_environments: bool = False
    component: str = ""
    component_type: str = ""

    @property
    def loses_data(self) -> bool:
        """A stateful resource deleted, or deleted and created empty, for real."""
        if not self.stateful or self.between_environments or self.migrated is not None:
            return False
        if self.action == "replace":
            return True
        return self.action == "delete" and not (self.protected or self.retained)


@dataclass(frozen=True)
class PlanDiff:
    """Every resource that changes between two plans, sorted by action then URN."""

    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    between_environments: bool = False

    def of(self, action: Action) -> tuple[ResourceChange, ...]:
        """The changes with that action."""
        return tuple(change for change in self.changes if change.action == action)

    @property
    def data_losses(self) -> tuple[ResourceChange, ...]:
        """Replacements and deletions that destroy data (`plinth diff` exits 3)."""
        return tuple(change for change in self.changes if change.loses_data)

    @property
    def stateful_replacements(self) -> tuple[ResourceChange, ...]:
        """The data losses that are replacements."""
        return tuple(change for change in self.data_losses if change.action == "replace")

    def by_component(self) -> list[tuple[str, str, tuple[ResourceChange, ...]]]:
        """(component, its type, its changes) for every top-level component with a change,
        sorted by name; each component's changes by action, then URN."""
        groups: dict[tuple[str, str], list[ResourceChange]] = {}
        for change in self.changes:
            groups.setdefault((change.component, change.component_type), []).append(change)
        return [(name, kind, tuple(group)) for (name, kind), group in sorted(groups.items())]


@dataclass(frozen=True)
class _Context:
    """What every comparison of one resource needs: both plans by URN, how the two sides
    relate, and the recorded migrations."""

    old: Mapping[str, Mapping[str, Any]]
    new: Mapping[str, Mapping[str, Any]]
    between_environments: bool
    migrated: Mapping[str, str]


def diff_plans(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    *,
    between_environments: bool = False,
    migrated: Mapping[str, str] | None = None,
) -> PlanDiff:
    """How `after` differs from `before` (two plans' entries).

    `between_environments`: the two plans are two environments (two deployments, two
    clusters), not one deployment before and after a change: provider differences are not
    followed, nothing is renamed, replaced or lost. `migrated`: resource name -> why its
    data may go (stacks/migrations.py `DATA_MIGRATED`).
    """
    context = _Context(
        old={entry["urn"]: entry for entry in before},
        new={entry["urn"]: entry for entry in after},
        between_environments=between_environments,
        migrated=migrated or {},
    )
    matched = _match(context.old, context.new)
    renamed = {} if between_environments else _renames(context.old, context.new, matched)
    changes: list[ResourceChange] = []
    for new_urn, old_urn in sorted({**matched, **renamed}.items()):
        change = _compare(
            context.old[old_urn], context.new[new_urn], context, renamed=new_urn in renamed
        )
        if change is not None:
            changes.append(change)
    gone = set(context.old) - set(matched.values()) - set(renamed.values())
    changes += [_whole("delete", context.old[urn], context) for urn in sorted(gone)]
    arrived = set(context.new) - set(matched) - set(renamed)
    changes += [_whole("create", context.new[urn], context) for urn in sorted(arrived)]
    if not between_environments:
        changes = _cascade(changes, context, {**matched, **renamed})
    changes = [_with_component(change, context) for change in changes]
    changes.sort(key=lambda change: (ACTIONS.index(change.action), change.urn))
    return PlanDiff(tuple(changes), between_environments)


def _with_component(change: ResourceChange, context: _Context) -> ResourceChange:
    """`change` with the top-level component it belongs to, on the side it exists on (the
    old plan for a deletion). A component both sides hold is named as the new side names
    it, so that one component's changes stay together."""
    side = context.old if change.action == "delete" else context.new
    urn = change.urn
    while side[urn]["parent"] in side:
        urn = side[urn]["parent"]
    top = context.new.get(urn) or side[urn]
    return replace(
        change, component=top.get("aligned_from", top["name"]), component_type=top["type"]
    )


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
    """New URN -> old URN for custom resources that moved without an alias: same type, a
    URN gone and a URN new, and alike. The most alike pairs are taken first (ties: the
    closest names, then URN order), each resource at most once."""
    gone = [urn for urn in sorted(old) if urn not in matched.values() and old[urn]["custom"]]
    arrived = [urn for urn in sorted(new) if urn not in matched and new[urn]["custom"]]
    old_leaves = {urn: dict(_leaf_values(old[urn]["inputs"])) for urn in gone}
    candidates = []
    for new_urn in arrived:
        new_leaves = dict(_leaf_values(new[new_urn]["inputs"]))
        for old_urn in gone:
            if old[old_urn]["type"] != new[new_urn]["type"]:
                continue
            alike = _share_equal(old_leaves[old_urn], new_leaves)
            if alike >= RENAME_SIMILARITY:
                names = SequenceMatcher(None, old[old_urn]["name"], new[new_urn]["name"])
                candidates.append((-alike, -names.ratio(), new_urn, old_urn))
    renamed: dict[str, str] = {}
    for _, _, new_urn, old_urn in sorted(candidates):
        if new_urn not in renamed and old_urn not in renamed.values():
            renamed[new_urn] = old_urn
    return renamed


def _cascade(
    changes: Sequence[ResourceChange], context: _Context, sources: Mapping[str, str]
) -> list[ResourceChange]:
    """`changes` with the replacements that follow from others. A resource holding the
    identity (id, physical name, ARN) of a replaced resource gets a new value there: the
    engine sees that input unknown at preview and, at a force-new input, replaces the
    holder too, and so on down the chain (VPC -> subnet -> node group). At an input
    updated in place it is a note. `sources`: new URN -> old URN of every resource on both
    sides."""
    by_urn = {change.urn: change for change in changes}
    dependents: dict[str, list[str]] = {}
    for urn in sorted(sources):
        for dependency in context.new[urn]["dependencies"]:
            dependents.setdefault(dependency, []).append(urn)
    queue = sorted(urn for urn, change in by_urn.items() if change.action == "replace")
    while queue:
        replaced = context.new[queue.pop(0)]
        if replaced["type"].startswith(("kubernetes:", "pulumi:providers:")):
            # Objects are referred to by their Kubernetes name, which a replacement keeps;
            # what a replaced provider manages is in _provider_reasons already.
            continue
        for urn in dependents.get(replaced["urn"], []):
            change, after = by_urn.get(urn), context.new[urn]
            if (change is not None and change.action == "replace") or not after["custom"]:
                continue
            before = context.old[sources[urn]]
            referring = [
                path
                for path, value in _leaf_values(after["inputs"])
                if _identifies(value, replaced["name"])
            ]
            if not referring:
                continue
            base = change or ResourceChange(
                "update",
                urn,
                after["type"],
                after["name"],
                after["type"] in STATEFUL_TYPES,
                protected=bool(before["protect"]),
                retained=bool(before["retain_on_delete"]),
            )
            forced = _forced(before, after, context.new)
            forcing = [p for p in referring if replaces(p, forced, after["replace_on_changes"])]
            what = f"{replaced['name']} is replaced, which changes "
            if not forcing:
                note = what + ", ".join(map(format_path, referring)) + " (in place)"
                by_urn[urn] = replace(base, notes=(*base.notes, note))
                continue
            by_urn[urn] = replace(
                base,
                action="replace",
                reasons=(*base.reasons, what + ", ".join(map(format_path, forcing))),
                delete_first=_deletes_first(before, after),
                notes=tuple(_notes(before, after, True, [])),
                migrated=context.migrated.get(before["name"]),
            )
            queue.append(urn)
    return list(by_urn.values())


def _identifies(value: Any, name: str) -> bool:
    """Whether an input value is the identity of the resource named `name` as the mock
    engine makes it: its id (`<name>-id`), its physical name, or an ARN ending in it."""
    if not isinstance(value, str):
        return False
    if value in (name, f"{name}-id"):
        return True
    return value.startswith("arn:") and value.endswith((f"/{name}", f":{name}"))


def _leaf_values(value: Any) -> Iterator[tuple[PropertyPath, Any]]:
    for path in _leaves(value, ()):
        yield path, value_at(value, path)


def _share_equal(before: Mapping[PropertyPath, Any], after: Mapping[PropertyPath, Any]) -> float:
    """The share of leaf paths of either side that hold the same value in both."""
    paths = set(before) | set(after)
    if not paths:
        return 1.0
    same = sum(
        1 for path in paths if path in before and path in after and before[path] == after[path]
    )
    return same / len(paths)


def _compare(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    context: _Context,
    *,
    renamed: bool = False,
) -> ResourceChange | None:
    """The change of one matched (or renamed) resource, None when nothing changed."""
    ignored = [parse_path(path) for path in after["ignore_changes"]]
    leaves = [
        (path, kind)
        for path, kind in changed_leaves(before["inputs"], after["inputs"])
        if not any(contains(pattern, path) for pattern in ignored)
    ]
    forced = _forced(before, after, context.new) if after["custom"] else ()
    causes = [
        forcing(path, forced, after["replace_on_changes"]) if after["custom"] else None
        for path, _ in leaves
    ]
    paths = tuple(
        _path_change(path, kind, before["inputs"], after["inputs"], forces=cause is not None)
        for (path, kind), cause in zip(leaves, causes, strict=True)
    )
    reasons = _reasons(before, after, context, renamed=renamed)
    options = _option_changes(before, after)
    moved = before["urn"] != after["urn"]
    if not (paths or options or reasons or moved):
        return None
    replaced = not context.between_environments and (
        bool(reasons) or any(path.replaces for path in paths)
    )
    if replaced:
        reasons += _forcing_reasons(paths, causes, after["type"])
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
        delete_first=replaced and not renamed and _deletes_first(before, after),
        notes=tuple(_notes(before, after, replaced, [path for path, _ in leaves])),
        protected=bool(before["protect"]),
        retained=bool(before["retain_on_delete"]),
        migrated=context.migrated.get(before["name"]) if replaced else None,
        between_environments=context.between_environments,
    )


def _reasons(
    before: Mapping[str, Any], after: Mapping[str, Any], context: _Context, *, renamed: bool
) -> list[str]:
    """Why the resource is replaced beyond its own force-new inputs."""
    if context.between_environments or not after["custom"]:
        return []
    reasons = _provider_reasons(before, after, context.old, context.new)
    if renamed:
        reasons.insert(
            0,
            f"renamed from {before['name']} without an alias: the engine creates it under "
            "the new URN and deletes the old one (an alias to the old URN keeps it)",
        )
    return reasons


def _path_change(
    path: PropertyPath, kind: Kind, before: Any, after: Any, *, forces: bool
) -> PathChange:
    old_value = value_at(before, path) if kind != "added" else None
    new_value = value_at(after, path) if kind != "removed" else None
    if _holds_secret(old_value) or _holds_secret(new_value):
        # Never show one side of a secret: a value turned secret was meant to be hidden.
        old_value = SECRET if kind != "added" else None
        new_value = SECRET if kind != "removed" else None
    return PathChange(format_path(path), kind, forces, old_value, new_value)


def value_at(value: Any, path: PropertyPath) -> Any:
    """The value at `path` inside `value` (which has it)."""
    for element in path:
        value = value[element]
    return value


def _forcing_reasons(
    paths: Sequence[PathChange], causes: Sequence[Forcing | None], type_token: str
) -> list[str]:
    """One reason per field that forces the replacement, naming the changed paths under it
    (or above it, when a whole container changed)."""
    changed: dict[Forcing, list[str]] = {}
    for path, cause in zip(paths, causes, strict=True):
        if cause is not None:
            changed.setdefault(cause, []).append(path.path)
    reasons = []
    for (kind, forcing_path), under in changed.items():
        shown = ", ".join(under[:MAX_PATHS_IN_REASON])
        if len(under) > MAX_PATHS_IN_REASON:
            shown += f" and {len(under) - MAX_PATHS_IN_REASON} more"
        if kind == "replace_on_changes":
            written = json.dumps(forcing_path)
            reasons.append(f"{shown} changed, under its replace_on_changes {written}")
            continue
        what = forcing_path if under == [forcing_path] else f"{forcing_path} ({shown})"
        reasons.append(f"{what} changed, and {type_token} cannot change it in place")
    return reasons


def _holds_secret(value: Any) -> bool:
    """Whether `value` is or holds a secret: a Pulumi secret (`[secret]` in a plan), or a
    value from a config key set with --secret that reached an input unwrapped (offline,
    the placeholder `[secret:<key>]`), anywhere in a string."""
    if isinstance(value, dict):
        return any(_holds_secret(child) for child in value.values())
    if isinstance(value, list):
        return any(_holds_secret(child) for child in value)
    return isinstance(value, str) and (SECRET in value or SECRET_PLACEHOLDER_START in value)


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
    `providerChanged`: the new provider's `DiffConfig` against the old provider's
    inputs); an AWS resource is replaced when its provider's region changes."""
    old_provider = old.get(provider_urn(before["provider"]))
    new_provider = new.get(provider_urn(after["provider"]))
    if old_provider is None or new_provider is None:
        return []
    keys = resources_replaced_by_provider(
        after["type"], new_provider["type"], old_provider["inputs"], new_provider["inputs"]
    )
    if keys == ["region"]:
        regions = [side["inputs"].get("region") for side in (old_provider, new_provider)]
        hidden = any(_holds_secret(region) for region in regions)
        old_region, new_region = (SECRET if hidden else json.dumps(r) for r in regions)
        return [f"its provider's region changes ({old_region} -> {new_region}): created there anew"]
    return [f"its provider is replaced ({', '.join(keys)} changed)"] if keys else []


def _whole(action: Action, entry: Mapping[str, Any], context: _Context) -> ResourceChange:
    """A resource only one side has: created, or deleted with whatever it holds."""
    notes = []
    deleted = action == "delete" and not context.between_environments
    migrated = context.migrated.get(entry["name"]) if deleted else None
    if deleted and entry["protect"]:
        notes.append(
            "protected: pulumi up refuses to delete it; unprotect it first (protect=False) "
            "if it really is to go"
        )
    if deleted and entry["retain_on_delete"]:
        notes.append("retained: Pulumi forgets it but leaves it (and its data) in place")
    if migrated is not None:
        notes.append(f"data migrated (stacks/migrations.py): {migrated}")
    return ResourceChange(
        action=action,
        urn=entry["urn"],
        type=entry["type"],
        name=entry.get("aligned_from", entry["name"]),
        stateful=entry["type"] in STATEFUL_TYPES,
        notes=tuple(notes),
        protected=bool(entry["protect"]),
        retained=bool(entry["retain_on_delete"]),
        migrated=migrated,
        between_environments=context.between_environments,
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
    if not replaced and paths and after["custom"] and not has_replacement_rules(after["type"]):
        yield (
            f"Plinth has no replacement rules for {after['type']}: whether its provider "
            "replaces it for this change is not known (add them to plinth/replacement.py)"
        )


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
        renamed["aligned_from"] = entry["name"]  # what a report of `environment` shows
        aligned.append(renamed)
    return aligned
