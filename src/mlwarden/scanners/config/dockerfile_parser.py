"""Dockerfiles (and Containerfiles) split into instructions, as BuildKit reads them.

Handled: parser directives (``# escape=``), comment lines (also inside continuations),
line continuations with the escape character, empty continuation lines, instruction
flags (``--from=``, ``--checksum=``, ``--mount=``), JSON exec form, and here-documents
(``RUN <<EOF ... EOF``). Each instruction keeps the line it starts on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mlwarden.scanners.base import LimitExceeded

MAX_INSTRUCTIONS = 20_000
MAX_INSTRUCTION_CHARS = 1_000_000

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_KEYWORD = re.compile(r"^\s*([A-Za-z]+)(?:\s+|$)(.*)$", re.DOTALL)
_FLAG = re.compile(r"^--([A-Za-z][\w-]*)(?:=(\S*))?$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][\w.-]*)\2")
_FLAG_INSTRUCTIONS = frozenset({"RUN", "ADD", "COPY", "FROM"})


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction."""

    keyword: str
    """Upper-case instruction name (``RUN``, ``FROM`` ...)."""
    arguments: str
    """Text after the keyword and its flags, continuation lines joined."""
    line: int
    """1-based line where the instruction starts."""
    flags: dict[str, str]
    """``--name=value`` flags (``--checksum``, ``--from``, ``--mount``); bare flags map to ''."""
    exec_form: tuple[str, ...] | None = None
    """Words of a JSON-array (exec form) argument, ``None`` for shell form."""
    heredocs: tuple[tuple[int, str], ...] = ()
    """(first line, body) of each ``<<EOF`` here-document that follows the instruction."""


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if match is None:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def _split_flags(keyword: str, text: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    if keyword not in _FLAG_INSTRUCTIONS:
        return flags, text
    rest = text.lstrip()
    while rest.startswith("--"):
        word, _sep, tail = rest.partition(" ")
        match = _FLAG.match(word)
        if match is None:
            break
        flags[match.group(1).lower()] = match.group(2) or ""
        rest = tail.lstrip()
    return flags, rest


def _exec_form(text: str) -> tuple[str, ...] | None:
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of ``text``; lines that are not instructions are skipped, as the
    builder would reject them anyway."""
    lines = text.splitlines()
    escape = _escape_char(lines)
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        start = i
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [line]
        while parts[-1].rstrip().endswith(escape) and i < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            nxt = lines[i]
            i += 1
            # Comment and empty lines inside a continuation are dropped by the builder.
            while i < len(lines) and (not nxt.strip() or nxt.lstrip().startswith("#")):
                nxt = lines[i]
                i += 1
            if not nxt.strip() or nxt.lstrip().startswith("#"):
                break
            parts.append(nxt)
            if sum(len(p) for p in parts) > MAX_INSTRUCTION_CHARS:
                raise LimitExceeded(
                    "length of one Dockerfile instruction", MAX_INSTRUCTION_CHARS, "shorten it"
                )
        if parts[-1].rstrip().endswith(escape):
            parts[-1] = parts[-1].rstrip()[:-1]
        joined = " ".join(p.strip() for p in parts)
        match = _KEYWORD.match(joined)
        if match is None:
            continue
        keyword = match.group(1).upper()
        flags, arguments = _split_flags(keyword, match.group(2))
        heredocs: list[tuple[int, str]] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for doc in _HEREDOC.finditer(arguments):
                strip_tabs = doc.group(1) == "-"
                body: list[str] = []
                first = i + 1
                while i < len(lines):
                    current = lines[i]
                    i += 1
                    if (current.lstrip("\t") if strip_tabs else current) == doc.group(3):
                        break
                    body.append(current)
                heredocs.append((first, "\n".join(body)))
        out.append(
            Instruction(
                keyword,
                arguments.strip(),
                start + 1,
                flags,
                _exec_form(arguments),
                tuple(heredocs),
            )
        )
        if len(out) > MAX_INSTRUCTIONS:
            raise LimitExceeded("Dockerfile instructions", MAX_INSTRUCTIONS, "split the build")
    return out
