"""Bounded, safe reading of a YAML policy document, with the line of every value.

Only PyYAML's ``SafeLoader`` (the loader behind ``yaml.safe_load``) ever sees the text, after
three bounds: the file size, the nesting depth, and no anchors or aliases (a few aliases can
expand into billions of nodes, and a policy has no use for them). Duplicate mapping keys are
rejected: YAML would silently keep the last one, so a second ``email:`` rule would quietly
replace the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlwarden.errors import ConfigError

MAX_POLICY_BYTES = 256 * 1024
MAX_POLICY_DEPTH = 32
_MAX_EVENTS = 200_000

PathKey = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and list indexes from the root."""


class LineMap:
    """1-based line numbers of the values in a parsed document."""

    def __init__(self, lines: dict[PathKey, int]) -> None:
        self._lines = lines

    def line(self, where: PathKey) -> int | None:
        """Line of the value at ``where``, or of its nearest enclosing value."""
        for cut in range(len(where), -1, -1):
            found = self._lines.get(where[:cut])
            if found is not None:
                return found
        return None


def read_policy_yaml(path: str | Path) -> tuple[Any, LineMap]:
    """Parse ``path`` safely; raise :class:`ConfigError` naming the file, line and fix."""
    source = Path(path)
    subject = str(source)
    try:
        with source.open("rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            subject, f"cannot read the policy ({exc.strerror})", "check the path"
        ) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise ConfigError(
            subject,
            f"the policy is larger than {MAX_POLICY_BYTES // 1024} KiB",
            "split it per dataset or remove unused rules",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            subject, f"not UTF-8 text (byte {exc.start})", "save the policy as UTF-8"
        ) from None
    try:
        _check_events(text, subject)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{subject}:{mark.line + 1}" if mark is not None else subject
        raise ConfigError(
            where, f"not valid YAML ({exc.problem or exc.context})", "fix the YAML syntax"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(subject, f"not valid YAML ({exc})", "fix the YAML syntax") from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _collect_lines(node, (), lines, subject)
    return data, LineMap(lines)


def _check_events(text: str, subject: str) -> None:
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if count > _MAX_EVENTS:
            raise ConfigError(
                subject, f"the policy has more than {_MAX_EVENTS} YAML nodes", "simplify it"
            )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ConfigError(
                f"{subject}:{line}",
                "YAML anchors and aliases (&name, *name) are not allowed in a policy",
                "write the repeated rule out in full",
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_POLICY_DEPTH:
                raise ConfigError(
                    f"{subject}:{line}",
                    f"nesting deeper than {MAX_POLICY_DEPTH} levels",
                    "flatten the policy",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _collect_lines(node: yaml.Node, where: PathKey, out: dict[PathKey, int], subject: str) -> None:
    out[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{subject}:{line}",
                    f"key {key!r} appears twice in the same mapping (first on line {seen[key]})",
                    "merge the two entries into one",
                )
            seen[key] = line
            _collect_lines(value_node, (*where, key), out, subject)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*where, index), out, subject)
