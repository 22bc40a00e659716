"""Where a finding of `plinth check` comes from: the line of the environment file that
configured the resource, else the source of the component that made it.

SARIF results and the Markdown report point there, so code scanning annotates the line a
reviewer would change (`a10g:` under `plinth:node_pools` for the a10g pool's launch
template, `quota:` under `plinth:jobs` for the jobs namespace's quota).

How a resource maps to a configuration key, in this order:

1. Its component: the innermost `plinth:*` component among the resource and its parents
   whose class has a config key. The class is found by its type token among the loaded
   `pulumi.ComponentResource` classes (importing the packages of the configuration's
   models when one is missing, as with `check --plan`).
2. The component class's config key, decided in one place, `config_key`: the class's
   `CONFIG_KEY` (a dotted path such as `cluster.autoscaler`) when it declares one;
   otherwise where `PlatformConfig` holds the settings model its constructor takes
   (`SparkOperatorArgs` -> `spark_operator`, `ClusterAutoscalerArgs` ->
   `cluster.autoscaler`, `NodePool` -> `node_pools.<name>`). A model held in several
   places gives no key.
3. A map entry (`<name>`) is the entry whose key ends the component's name
   (`prod-nodes-a10g` -> `node_pools.a10g`): child names derive from the component's name
   and are public API.
4. Inside the component, the name of the child that holds the resource, after the
   component's name: a setting it starts with (`prod-jobs-quota` -> `jobs.quota`), else
   the key of the one map setting whose entry it ends with (`prod-jobs-volume-datasets`
   -> `jobs.volumes.datasets`; a key in two maps decides nothing).
5. The longest part of that path written in the environment file gives the line (its
   top-level `plinth:<key>` at least). Where the file writes none of it, the defaults
   configured the resource: the component class's source file and line.

A resource outside every component (a provider of the stack) and a stack-wide finding
point at the environment file's first line.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import BaseModel

from plinth.environments import MAX_ENVIRONMENT_FILE_BYTES, Environment
from plinth.input_files import read_text_file
from plinth.strict_yaml import MERGE_TAG, load_yaml
from stacks.config import NAMESPACE, PlatformConfig

COMPONENT_PREFIX = "plinth:"
ENTRY = "<name>"  # a map entry in a config key path


@dataclass(frozen=True)
class SourceLocation:
    """A line of a file of the project, and the config key written there (if any)."""

    path: str  # relative to the project (or the code) root, with / separators
    line: int
    key: str = ""  # e.g. plinth:node_pools.a10g


def locate(
    root: Path,
    environment: Environment,
    entries: Sequence[Mapping[str, Any]],
    urns: Collection[str],
) -> dict[str, SourceLocation]:
    """URN -> where it was configured, for each of `urns` (see the module docstring)."""
    by_urn = {str(entry["urn"]): entry for entry in entries}
    chains = {urn: _chain(by_urn, urn) for urn in sorted(urns) if urn in by_urn}
    types = {str(by_urn[each]["type"]) for chain in chains.values() for each in chain}
    locator = _Locator(root, environment, by_urn, ComponentIndex(types))
    return {
        urn: (locator.locate(chains[urn]) if urn in chains else None) or locator.first_line
        for urn in sorted(urns)
    }


def _chain(by_urn: Mapping[str, Mapping[str, Any]], urn: str) -> list[str]:
    """`urn` and its parents in the plan, nearest first."""
    chain = [urn]
    while str(by_urn[chain[-1]].get("parent") or "") in by_urn:
        chain.append(str(by_urn[chain[-1]]["parent"]))
    return chain


class _Locator:
    """Locates resources of one environment's plan."""

    def __init__(
        self,
        root: Path,
        environment: Environment,
        by_urn: Mapping[str, Mapping[str, Any]],
        components: ComponentIndex,
    ) -> None:
        self.root = root
        self.platform = environment.platform
        self.by_urn = by_urn
        self.components = components
        self.source = f"environments/{environment.path.name}"
        self.lines = key_lines(environment.path, self.source)
        self.first_line = SourceLocation(self.source, 1)

    def locate(self, chain: Sequence[str]) -> SourceLocation | None:
        """Where the resource of `chain` (itself, then its parents) was configured."""
        for index, urn in enumerate(chain):
            cls = self.components.get(str(self.by_urn[urn]["type"]))
            key = config_key(cls) if cls is not None else None
            if cls is None or key is None:
                continue
            name = str(self.by_urn[urn]["name"])
            child = str(self.by_urn[chain[index - 1]]["name"]) if index else name
            path = _concrete(key, name, child, self.platform)
            for length in range(len(path), 0, -1):
                if path[:length] in self.lines:
                    written = f"{NAMESPACE}:{'.'.join(path[:length])}"
                    return SourceLocation(self.source, self.lines[path[:length]], written)
            return class_location(cls, self.root)
        return None


def _concrete(
    key: tuple[str, ...], component: str, child: str, platform: PlatformConfig
) -> tuple[str, ...]:
    """`key` with its map entries resolved from the component's name, then refined by the
    child's name (steps 3 and 4 of the module docstring); the part that resolves."""
    path: list[str] = []
    value: Any = platform
    for part in key:
        written = part
        if part == ENTRY:
            entries = value if isinstance(value, dict) else {}
            named = [k for k in entries if component == k or component.endswith(f"-{k}")]
            if not named:
                return tuple(path)
            written = max(named, key=len)
        value = _member(value, written)
        if value is None:
            return tuple(path)
        path.append(written)
    if child.startswith(f"{component}-") and isinstance(value, BaseModel):
        path += _setting_named(child.removeprefix(f"{component}-"), value)
    return tuple(path)


def _member(value: Any, part: str) -> Any:
    if isinstance(value, BaseModel):
        return getattr(value, part, None)
    if isinstance(value, dict):
        return value.get(part)
    return None


def _setting_named(suffix: str, settings: BaseModel) -> list[str]:
    """The setting of `settings` that `suffix` (a child's name after its component's) names."""
    values = {name: getattr(settings, name) for name in type(settings).model_fields}
    for name, value in values.items():
        written = name.replace("_", "-")
        if suffix == written or suffix.startswith(f"{written}-"):
            rest = suffix[len(written) + 1 :]
            if rest and isinstance(value, BaseModel):
                return [name, *_setting_named(rest, value)]
            if rest and isinstance(value, dict) and isinstance(value.get(rest), BaseModel):
                return [name, rest]
            return [name]
    entries = [
        [name, key]
        for name, value in values.items()
        if isinstance(value, dict)
        for key, entry in value.items()
        if isinstance(entry, BaseModel) and (suffix == key or suffix.endswith(f"-{key}"))
    ]
    return entries[0] if len(entries) == 1 else []


def key_lines(path: Path, source: str) -> dict[tuple[str, ...], int]:
    """(key path without the namespace) -> line, for every `plinth:` key of an environment
    file and every key written inside one; `tier` and `plinth:tier` are the same key."""
    _, root = load_yaml(read_text_file(path, source, max_bytes=MAX_ENVIRONMENT_FILE_BYTES), source)
    config = _value_of(root, "config")
    found: dict[tuple[str, ...], int] = {}
    prefix = f"{NAMESPACE}:"
    for key, value in _keys(config):
        written = key.value if ":" in key.value else f"{prefix}{key.value}"
        if written.startswith(prefix):
            found.update(_lines((written.removeprefix(prefix),), key, value))
    return found


def _value_of(node: yaml.Node | None, name: str) -> yaml.Node | None:
    return next((value for key, value in _keys(node) if key.value == name), None)


def _keys(node: yaml.Node | None) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
    """The plainly written keys of a mapping node, with their values."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
                yield key, value


def _lines(
    path: tuple[str, ...], key: yaml.ScalarNode, value: yaml.Node
) -> Iterator[tuple[tuple[str, ...], int]]:
    yield path, key.start_mark.line + 1
    for child, child_value in _keys(value):
        yield from _lines((*path, str(child.value)), child, child_value)


# ---- component classes and their config keys ------------------------------------------


def config_key(cls: type) -> tuple[str, ...] | None:
    """The config key path of component class `cls` (`<name>` for a map entry), or None.

    The one place that decides: `CONFIG_KEY` when the class declares it; else where
    `PlatformConfig` holds the settings model its constructor takes, if in one place only.
    """
    declared = getattr(cls, "CONFIG_KEY", None)
    if isinstance(declared, str):
        return tuple(declared.split("."))
    places = model_places()
    by_name = {model.__name__: model for model in places}
    for parameter in inspect.signature(cls).parameters.values():
        annotation = parameter.annotation
        name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        model = by_name.get(name)
        if model is not None and len(places[model]) == 1:
            return places[model][0]
    return None


@functools.cache
def model_places() -> dict[type[BaseModel], list[tuple[str, ...]]]:
    """Every model reachable from `PlatformConfig` -> the key paths holding it."""
    places: dict[type[BaseModel], list[tuple[str, ...]]] = {}
    for key, field in PlatformConfig.model_fields.items():
        for model, path in _models(field.annotation, (key,)):
            places.setdefault(model, []).append(path)
    return places


def _models(
    annotation: Any, path: tuple[str, ...]
) -> Iterator[tuple[type[BaseModel], tuple[str, ...]]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, path
        for name, field in annotation.model_fields.items():
            yield from _models(field.annotation, (*path, name))
    elif typing.get_origin(annotation) is dict:
        yield from _models(typing.get_args(annotation)[1], (*path, ENTRY))
    else:
        for arg in typing.get_args(annotation):
            yield from _models(arg, path)


class ComponentIndex:
    """The component classes of the `plinth:*` type tokens among `types`."""

    def __init__(self, types: Collection[str]) -> None:
        tokens = {token for token in types if token.startswith(COMPONENT_PREFIX)}
        self.classes = _declaring(tokens, _component_classes())
        missing = tokens - set(self.classes)
        if missing:  # a plan read from a file: the program did not run in this process
            _import_declaring_modules(missing)
            self.classes = _declaring(tokens, _component_classes())

    def get(self, type_token: str) -> type | None:
        """The class whose constructor registers `type_token`, if found."""
        return self.classes.get(type_token)


def _component_classes() -> list[type]:
    found: list[type] = []
    pending: list[type] = [pulumi.ComponentResource]
    while pending:
        subclasses: list[type] = pending.pop().__subclasses__()
        for subclass in subclasses:
            if subclass not in found:
                found.append(subclass)
                pending.append(subclass)
    return found


def _declaring(tokens: Collection[str], classes: Sequence[type]) -> dict[str, type]:
    """Token -> the one class that registers it: its constructor passes the token as a
    literal (`super().__init__("<token>", ...)`), or the class holds it as an attribute."""
    found: dict[str, list[type]] = {}
    for cls in classes:
        for token in set(tokens) & _literals(cls):
            found.setdefault(token, []).append(cls)
    return {token: classes[0] for token, classes in found.items() if len(classes) == 1}


def _literals(cls: type) -> set[str]:
    """The strings in the body of `cls`: its attributes and the constants of its methods."""
    strings = {value for value in vars(cls).values() if isinstance(value, str)}
    codes = [f.__code__ for f in vars(cls).values() if isinstance(f, types.FunctionType)]
    while codes:
        constants = codes.pop().co_consts
        strings.update(each for each in constants if isinstance(each, str))
        codes += [each for each in constants if isinstance(each, types.CodeType)]
    return strings


def _import_declaring_modules(tokens: Collection[str]) -> None:
    """Import the modules that register one of `tokens`, found by their text in the
    packages that define the configuration's models (where the components live)."""
    for name in sorted({model.__module__.split(".")[0] for model in model_places()}):
        package = sys.modules.get(name) or importlib.import_module(name)
        if package.__file__ is None or Path(package.__file__).name != "__init__.py":
            continue
        directory = Path(package.__file__).parent
        for file in sorted(directory.rglob("*.py")):
            text = file.read_text(encoding="utf-8", errors="replace")
            if file.stem != "__main__" and any(f'"{token}"' in text for token in tokens):
                parts = file.relative_to(directory.parent).with_suffix("").parts
                importlib.import_module(".".join(parts).removesuffix(".__init__"))


@functools.cache
def class_location(cls: type, root: Path) -> SourceLocation | None:
    """The source file (relative to `root`, else to the code's root) and line of `cls`."""
    try:
        file = Path(inspect.getsourcefile(cls) or "").resolve()
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None
    package = sys.modules[cls.__module__.split(".")[0]]
    bases = [root.resolve(), Path(package.__file__ or file).resolve().parent.parent]
    for base in bases:
        if file.is_relative_to(base):
            return SourceLocation(file.relative_to(base).as_posix(), line)
    return SourceLocation(file.as_posix(), line)
