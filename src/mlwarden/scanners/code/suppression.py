"""Inline suppressions: ``# mlwarden: ignore`` on the line of a finding.

Accepted forms, after any of the comment markers ``#``, ``//``, ``--``, ``;``, ``/*``,
``<!--`` or ``%`` (so Python, shell, YAML, TOML, INI, R, SQL, Scala, Terraform, JS,
Markdown and notebook cells are all covered)::

    password = "..."  # mlwarden: ignore                  (every rule on this line)
    token = "..."     # mlwarden: ignore[MLW-SEC-012]     (only these rules)
    key = "..."       // mlwarden: ignore[MLW-SEC-004, MLW-SEC-030]

A marker applies to its own line only. A marker that names no valid rule id
(``ignore[]``, ``ignore[all]``) suppresses nothing: a typo must not hide every secret.
"""

from __future__ import annotations

import re

_MARKER = re.compile(
    rb"(?:#|//|--|;|/\*|<!--|%)\s*mlwarden:\s*ignore(?:\[(?P<rules>[^\]\r\n]{0,400})\])?"
)
_RULE_ID = re.compile(r"MLW-[A-Z]{2,5}-\d{3}")
_LONG_LINE = 65_536
_NEAR = 4_096

ALL_RULES = frozenset({"*"})
"""Returned for a bare ``ignore`` marker."""


def line_bounds(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Start and end offsets of the line(s) holding ``data[start:end]``."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    return line_start, len(data) if line_end == -1 else line_end


def suppressed_rules(data: bytes, start: int, end: int) -> frozenset[str]:
    """Rule ids suppressed on the line of ``data[start:end]`` (``{"*"}`` for all).

    On lines longer than 64 KiB (minified files) only the 4 KiB around the finding are
    searched, so a single marker cannot be made to cover a whole file.
    """
    line_start, line_end = line_bounds(data, start, end)
    if line_end - line_start > _LONG_LINE:
        line_start, line_end = max(line_start, start - _NEAR), min(line_end, end + _NEAR)
    found: set[str] = set()
    for marker in _MARKER.finditer(data, line_start, line_end):
        listed = marker.group("rules")
        if listed is None:
            return ALL_RULES
        found.update(_RULE_ID.findall(listed.decode("ascii", "replace").upper()))
    return frozenset(found)


def is_suppressed(rule_id: str, data: bytes, start: int, end: int) -> bool:
    """True when the line of ``data[start:end]`` suppresses ``rule_id``."""
    rules = suppressed_rules(data, start, end)
    return "*" in rules or rule_id in rules
