"""Command-line options of the services checked here, read the way their CLIs read them.

``--name=value``, ``--name value`` (for options known to take a value), short aliases
(``-h 0.0.0.0``) and boolean flags. Each tool's check module declares which of its options
take values, so a flag is never mistaken for a value-taking option or the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f"})


@dataclass(frozen=True)
class ParsedOptions:
    """Options by long name without leading dashes; repeated options keep every value."""

    values: dict[str, list[str]] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    positionals: tuple[str, ...] = ()

    def last(self, *names: str) -> str | None:
        """The value given last to any of ``names`` (CLIs let the last one win)."""
        for name in names:
            found = self.values.get(name)
            if found:
                return found[-1]
        return None

    def all(self, *names: str) -> list[str]:
        return [v for name in names for v in self.values.get(name, [])]

    def has(self, *names: str) -> bool:
        """True when any of ``names`` appears, as a flag or with a value."""
        return any(n in self.flags or n in self.values for n in names)

    def switch(self, name: str, negative: str | None = None) -> bool | None:
        """A boolean option: ``--x``/``--x=true`` → True, ``--no-x``/``--x=false`` → False,
        absent → None."""
        value = self.last(name)
        if value is not None:
            parsed = parse_bool(value)
            if parsed is not None:
                return parsed
        if negative is not None and negative in self.flags:
            return False
        if name in self.flags:
            return True
        return None


def parse_bool(text: str) -> bool | None:
    """``true/false/yes/no/1/0/on/off`` in any case; ``None`` for anything else."""
    lowered = text.strip().strip("'\"").lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_options(
    args: Sequence[str],
    *,
    takes_value: frozenset[str],
    short: Mapping[str, str] | None = None,
    dotted_take_value: bool = False,
) -> ParsedOptions:
    """Parse ``args`` (without the program and subcommand).

    ``takes_value`` holds long names (no dashes) that consume the next word when written
    without ``=``; ``short`` maps single-dash aliases to long names. With
    ``dotted_take_value`` (traitlets-style CLIs such as Jupyter), ``--Class.trait value``
    also consumes the next word.
    """
    aliases = short or {}
    values: dict[str, list[str]] = {}
    flags: set[str] = set()
    positionals: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            positionals.extend(args[i:])
            break
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            if eq:
                values.setdefault(name, []).append(value)
            elif (name in takes_value or (dotted_take_value and "." in name)) and i < len(args):
                values.setdefault(name, []).append(args[i])
                i += 1
            else:
                flags.add(name)
        elif word.startswith("-") and len(word) > 1 and not word[1].isdigit():
            key, eq, value = word.partition("=")
            name = aliases.get(key, key.lstrip("-"))
            if eq:
                values.setdefault(name, []).append(value)
            elif name in takes_value and i < len(args):
                values.setdefault(name, []).append(args[i])
                i += 1
            elif key[:2] in aliases and len(key) > 2 and aliases[key[:2]] in takes_value:
                values.setdefault(aliases[key[:2]], []).append(key[2:])  # -h0.0.0.0
            else:
                flags.add(name)
        else:
            positionals.append(word)
    return ParsedOptions(values, frozenset(flags), tuple(positionals))
