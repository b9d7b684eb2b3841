"""YAML streams (Kubernetes manifests, Compose files, Dask configs) read within bounds.

``yaml.safe_load`` builds no objects beyond plain data, but it happily builds a billion
of them: aliases let a few hundred bytes stand for an exponentially large tree (the
"billion laughs"), and PyYAML's composer recurses once per nesting level. So each stream
is read in three steps:

1. a pass over the parser's events (no tree, no recursion) measures nesting depth;
2. each document is composed into nodes, where an alias is a shared reference, and the
   size of the tree *as if aliases were expanded* is computed with memoisation (linear in
   the node count) before anything is constructed; recursive aliases are refused;
3. only then is the document constructed with PyYAML's safe constructor.

A document that breaks a bound becomes a limit problem; a syntax error stops the stream
at that document (PyYAML cannot resynchronise) and becomes a malformed problem. The
documents before it are still analysed. Alongside each document's data comes a map
from key paths to 1-based line numbers, so findings can say where they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

MAX_NODES = 200_000
"""Nodes per document, counted with aliases expanded."""
MAX_DEPTH = 100
"""Nesting of collections in a document."""
MAX_DOCUMENTS = 10_000

PathKey = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader, reading local tags (``!Ref``, ``!include``, ``!REF``) as the plain
    data they tag: valid YAML that many tools use. ``!!python/...`` tags still fail to
    construct and are reported: an unsafe loader would run them."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _untagged)


@dataclass(frozen=True)
class YamlDocument:
    """One constructed document of a stream."""

    index: int
    """0-based position in the stream."""
    data: object
    lines: dict[PathKey, int]
    """Line (1-based) of each mapping key and sequence item, by key path."""
    start_line: int


@dataclass(frozen=True)
class YamlProblem:
    kind: str
    """``limit`` or ``malformed``."""
    message: str
    line: int | None


@dataclass
class YamlStream:
    documents: list[YamlDocument] = field(default_factory=list)
    problems: list[YamlProblem] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _line(mark: object) -> int | None:
    # Marks come from the pure-Python or the libyaml parser; both carry a 0-based line.
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else None


def _first_deep_document(text: str, tick: Callable[[], None]) -> tuple[int, int] | None:
    """(document index, line) of the first document nested deeper than MAX_DEPTH."""
    depth = 0
    index = -1
    try:
        for event in yaml.parse(text, Loader=_Loader):
            tick()
            if isinstance(event, yaml.DocumentStartEvent):
                index += 1
                depth = 0
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return index, (_line(event.start_mark) or 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # reported, with its position, when the document is composed
    return None


def _expanded_size(root: yaml.Node, tick: Callable[[], None]) -> int:
    """Node count with every alias expanded, computed without expanding anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = total
            if total > MAX_NODES:
                raise _Refused(f"more than {MAX_NODES} nodes once aliases are expanded")
            continue
        if key in sizes:
            continue
        if key in active:
            raise _Refused("a recursive alias (a node that contains itself)")
        tick()
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise _Refused("a recursive alias (a node that contains itself)")
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _line_map(root: yaml.Node) -> dict[PathKey, int]:
    lines: dict[PathKey, int] = {}
    stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    child = (*path, key_node.value)
                    lines.setdefault(child, key_node.start_mark.line + 1)
                    stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*path, i)
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((item, child))
    return lines


def _reset_constructor(loader: yaml.SafeLoader) -> None:
    # PyYAML leaves half-built state behind when construction fails; the next document
    # must not inherit it.
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []
    loader.deep_construct = False


def read_yaml_stream(text: str, tick: Callable[[], None] | None = None) -> YamlStream:
    """Read every document of ``text`` within the bounds above."""
    step = tick or (lambda: None)
    out = YamlStream()
    deep = _first_deep_document(text, step)
    loader = _Loader(text)
    index = 0
    try:
        while True:
            if deep is not None and index == deep[0]:
                out.problems.append(
                    YamlProblem(
                        "limit",
                        f"YAML document {index + 1} nests more than {MAX_DEPTH} levels; it "
                        "and the documents after it were not analysed",
                        deep[1],
                    )
                )
                return out
            if index >= MAX_DOCUMENTS:
                out.problems.append(
                    YamlProblem("limit", f"more than {MAX_DOCUMENTS} YAML documents", None)
                )
                return out
            try:
                if not loader.check_node():
                    return out
                node = loader.get_node()
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                # libyaml enforces its own nesting bound while scanning ahead.
                kind = "limit" if "nesting depth" in problem else "malformed"
                out.problems.append(
                    YamlProblem(kind, f"YAML document {index + 1}: {problem}", _line(mark))
                )
                return out
            index += 1
            if node is None:
                continue
            start = node.start_mark.line + 1
            try:
                _expanded_size(node, step)
            except _Refused as exc:
                out.problems.append(
                    YamlProblem("limit", f"YAML document {index}: {exc.message}", start)
                )
                continue
            try:
                data = loader.construct_document(node)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
                _reset_constructor(loader)
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                out.problems.append(
                    YamlProblem("malformed", f"YAML document {index}: {first}", start)
                )
                continue
            out.documents.append(YamlDocument(index - 1, data, _line_map(node), start))
    finally:
        loader.dispose()
