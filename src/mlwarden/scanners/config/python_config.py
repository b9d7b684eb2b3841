"""Traitlets configuration written in Python (``jupyter_server_config.py`` and kin).

The file is parsed with :mod:`ast` and never executed: only assignments of the form
``c.Class.trait = <literal>`` are read, with their line. A value that is not a literal
(``os.environ["TOKEN"]``, a function call) is recorded as :data:`NOT_LITERAL`, which the
checks treat as "set to something we cannot see" rather than as empty.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from mlwarden.scanners.base import LimitExceeded, MalformedInput


@dataclass(frozen=True)
class NotLiteral:
    """A setting whose value is computed at run time."""

    source: str


NOT_LITERAL = NotLiteral("")
MAX_ASSIGNMENTS = 50_000

TraitValue = object
"""A literal Python value (str, bool, int, list ...) or a :class:`NotLiteral`."""


def _config_names(tree: ast.Module) -> set[str]:
    # `c = get_config()` is the convention, but any name bound to get_config() works.
    names = {"c"}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "get_config"
        ):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _literal(node: ast.expr) -> TraitValue:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NotLiteral(ast.unparse(node)[:120])


def read_traitlets_python(source: str) -> dict[str, tuple[TraitValue, int]]:
    """``{"ServerApp.token": ("", 12), ...}`` for every ``c.Class.trait = value``; the last
    assignment of a trait wins, as it does when traitlets runs the file."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise MalformedInput(f"not valid Python: {exc.msg} (line {exc.lineno})") from None
    except ValueError as exc:  # e.g. NUL bytes
        raise MalformedInput(f"not valid Python source: {exc}") from None
    except (RecursionError, MemoryError):
        raise LimitExceeded(
            "nesting of a Python configuration file",
            sys.getrecursionlimit(),
            "simplify the expression (Python itself cannot compile code nested this deeply)",
        ) from None
    names = _config_names(tree)
    found: list[tuple[int, str, TraitValue]] = []
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        count += 1
        if count > MAX_ASSIGNMENTS:
            raise LimitExceeded(
                "assignments in a Python configuration file", MAX_ASSIGNMENTS, "split the file"
            )
        for target in targets:
            key = _trait_key(target, names)
            if key is not None:
                found.append((node.lineno, key, _literal(value)))
    # ast.walk is breadth-first; traitlets applies assignments in source order.
    found.sort(key=lambda item: item[0])
    return {key: (value, line) for line, key, value in found}


def _trait_key(target: ast.expr, names: set[str]) -> str | None:
    # c.ServerApp.token  ->  Attribute(Attribute(Name(c), ServerApp), token)
    if not isinstance(target, ast.Attribute) or not isinstance(target.value, ast.Attribute):
        return None
    base = target.value.value
    if isinstance(base, ast.Name) and base.id in names:
        return f"{target.value.attr}.{target.attr}"
    return None
