"""YAML read strictly, for files a person edits: every surprise is a one-line ConfigError.

PyYAML's `safe_load` is lenient where a mistake should be loud, and unbounded where a
hostile or broken file should be refused:

- a key given twice keeps the last value silently: here it names both lines;
- aliases expand without limit ("billion laughs") and may refer to themselves: here a
  document may expand to at most `MAX_NODES` nodes and no alias may contain itself;
- nesting is unbounded (the composer recurses): here at most `MAX_DEPTH` levels;
- a 5,000-digit integer, a date that does not exist or `!!float abc` raise ValueError,
  and `.inf`/`.nan` pass as numbers no JSON or Pulumi config holds: here they are errors;
- explicit tags (`!!binary`, `!!set`, `!!timestamp`, ...) make values that are not
  config values: only strings, numbers, booleans, null, lists and maps are accepted.

Unquoted dates and `=` stay text, as Pulumi reads them (its YAML has no timestamp type).
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from stacks.config import ConfigError

MAX_DEPTH = 64
MAX_NODES = 50_000
MAX_NUMBER_CHARS = 40  # longer than any int64 or float64 literal; int() of more is slow
INT64_RANGE = range(-(2**63), 2**63)
YAML_TAG = "tag:yaml.org,2002:"
INT_TAG, FLOAT_TAG, MERGE_TAG = (f"{YAML_TAG}{name}" for name in ("int", "float", "merge"))
ALLOWED_TAGS = frozenset(
    f"{YAML_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that counts and bounds what it composes and leaves dates as text."""

    # Replaces SafeLoader's table for this class only (PyYAML's own pattern).
    yaml_implicit_resolvers = {  # noqa: RUF012
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in (f"{YAML_TAG}timestamp", f"{YAML_TAG}value")
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Bounded here, before the composer's recursion could exhaust the stack.
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _RefusedError(self._mark(), f"nested deeper than {MAX_DEPTH} levels")
            if self.composed > MAX_NODES:
                raise _RefusedError(self._mark(), f"more than {MAX_NODES} values")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _mark(self) -> yaml.Mark:
        return self.peek_event().start_mark  # type: ignore[no-untyped-call,no-any-return]


class _RefusedError(Exception):
    """A problem found at `mark` (its line is reported)."""

    def __init__(self, mark: yaml.Mark | None, problem: str) -> None:
        super().__init__(problem)
        self.mark = mark
        self.problem = problem


def load_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """(document, its root node) of YAML `text`; ConfigError naming `source` and the line."""
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as error:
        raise ConfigError(f"{source}: {_unprintable(text, error)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _Walk(loader).measure(node, depth=1)
        return loader.construct_document(node), node
    except _RefusedError as refused:
        raise ConfigError(f"{source}:{_line(refused.mark)}: {refused.problem}") from None
    except yaml.YAMLError as error:
        said = (getattr(error, "context", None), getattr(error, "problem", None))
        problem = " ".join(filter(None, said)) or "not valid YAML"
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(f"{source}:{_line(mark)}: {problem} (fix the YAML syntax)") from None
    finally:
        loader.dispose()


def _unprintable(text: str, error: yaml.reader.ReaderError) -> str:
    line = text.count("\n", 0, error.position) + 1
    return (
        f"line {line}: character U+{error.character:04X} is not allowed in YAML; "
        "remove it (or write it as an escape in a double-quoted string)"
    )


def mapping_key_lines(node: yaml.Node) -> list[tuple[str, int]]:
    """(key as written, line) of each plain key of mapping `node`, in file order."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [
        (key.value, key.start_mark.line + 1)
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG
    ]


def _line(mark: yaml.Mark | None) -> str:
    return f" line {mark.line + 1}" if mark is not None else ""


class _Walk:
    """One pass over the composed nodes: expanded size, depth through aliases, cycles,
    duplicate keys, tags and numbers. Each node is measured once (aliases share nodes)."""

    def __init__(self, loader: _StrictLoader) -> None:
        self.loader = loader
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (size, height)
        self.open: set[int] = set()

    def measure(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        """(nodes it expands to, levels it spans); _RefusedError past a limit."""
        if depth > MAX_DEPTH:
            raise _RefusedError(node.start_mark, f"aliases nest deeper than {MAX_DEPTH} levels")
        known = self.measured.get(id(node))
        if known is None:
            if id(node) in self.open:
                raise _RefusedError(node.start_mark, "an alias refers to a value that contains it")
            self.open.add(id(node))
            known = self._measure_new(node, depth)
            self.open.discard(id(node))
            self.measured[id(node)] = known
        size, height = known
        if size > MAX_NODES:
            raise _RefusedError(node.start_mark, f"aliases expand to more than {MAX_NODES} values")
        if depth + height - 1 > MAX_DEPTH:
            raise _RefusedError(node.start_mark, f"aliases nest deeper than {MAX_DEPTH} levels")
        return known

    def _measure_new(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        if node.tag not in ALLOWED_TAGS:
            raise _RefusedError(
                node.start_mark,
                f"tag {node.tag.replace(YAML_TAG, '!!')} is not supported here; write a plain "
                "string, number, boolean, list or map",
            )
        if isinstance(node, yaml.ScalarNode):
            self._scalar(node)
            return 1, 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            self._no_duplicate_keys(node)
            for key, value in node.value:
                children += [value] if key.tag == MERGE_TAG else [key, value]
        else:
            children = list(node.value)
        size, height = 1, 0
        for child in children:
            child_size, child_height = self.measure(child, depth + 1)
            size += child_size
            height = max(height, child_height)
            if size > MAX_NODES:
                raise _RefusedError(
                    node.start_mark, f"aliases expand to more than {MAX_NODES} values"
                )
        return size, height + 1

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in (INT_TAG, FLOAT_TAG) and len(node.value) > MAX_NUMBER_CHARS:
            raise _RefusedError(
                node.start_mark,
                f"number {node.value[:20]}... is too long; Pulumi config numbers are 64-bit",
            )
        try:
            value = self.loader.construct_object(node)
        except ValueError as error:
            raise _RefusedError(
                node.start_mark,
                f"{node.value!r} is not a valid {node.tag.replace(YAML_TAG, '')} "
                f"({error}); quote it to make it a string",
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _RefusedError(
                node.start_mark, f"{node.value} is not a finite number; use a finite number"
            )
        if isinstance(value, int) and not isinstance(value, bool) and value not in INT64_RANGE:
            raise _RefusedError(
                node.start_mark, f"integer {node.value} is out of the 64-bit range Pulumi holds"
            )
        return value

    def _no_duplicate_keys(self, node: yaml.MappingNode) -> None:
        first_lines: dict[Any, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
                continue  # a map or list as key is refused by the constructor
            value = self._scalar(key)
            line = key.start_mark.line + 1
            if value in first_lines:
                raise _RefusedError(
                    key.start_mark,
                    f"key {key.value!r} is given twice (lines {first_lines[value]} and {line}); "
                    "keep one",
                )
            first_lines[value] = line
