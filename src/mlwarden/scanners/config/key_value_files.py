"""Line-oriented ``key = value`` formats, read with their line numbers.

* Java ``.properties`` (TorchServe ``config.properties``): ``#``/``!`` comments,
  ``=``/``:``/space separators, backslash continuation lines.
* ``.env`` files: ``[export ]NAME=value``, quoted values (double quotes may span lines),
  ``#`` comments after unquoted values.
* INI (``basic_auth.ini``, ``pip.conf``, ``supervisord.conf``): ``[sections]``, ``=`` or
  ``:``, ``#``/``;`` comments, indented continuation lines; keys are lower-cased and the
  last assignment wins, as Python's ``configparser`` does.

The standard library has no properties or dotenv reader, and ``configparser`` neither
reports lines nor accepts every file that the tools themselves accept.
"""

from __future__ import annotations

import re

from mlwarden.scanners.base import LimitExceeded

MAX_ENTRIES = 100_000
_CONTINUATION_LINES = 1_000
_DOTENV = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")
_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*(?:[#;].*)?$")

Entries = dict[str, tuple[str, int]]
"""Key → (value, 1-based line)."""


def _count(n: int, what: str) -> None:
    if n > MAX_ENTRIES:
        raise LimitExceeded(f"entries in a {what} file", MAX_ENTRIES, "split the file")


def _odd_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def read_properties(text: str) -> Entries:
    """Entries of a Java properties file; the last assignment of a key wins."""
    out: Entries = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        joined = 0
        while _odd_backslashes(line) and i < len(lines) and joined < _CONTINUATION_LINES:
            line = line[:-1] + lines[i].lstrip()
            i += 1
            joined += 1
        match = re.match(r"((?:\\.|[^=:\s\\])*)\s*[=:\s]?\s*(.*)$", line)
        if match is None:
            continue
        key = match.group(1).replace("\\", "")
        out[key] = (match.group(2).strip(), start + 1)
        _count(len(out), "properties")
    return out


def _unquote_dotenv(value: str, rest: list[str]) -> tuple[str, int]:
    """Value of a dotenv assignment and how many extra lines it used."""
    if value[:1] in ("'", '"'):
        quote = value[0]
        body = value[1:]
        used = 0
        while quote not in body and used < len(rest) and used < _CONTINUATION_LINES:
            body += "\n" + rest[used]
            used += 1
        end = body.find(quote)
        inner = body if end == -1 else body[:end]
        if quote == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"')
        return inner, used
    return re.split(r"\s+#", value, maxsplit=1)[0].strip(), 0


def read_dotenv(text: str) -> list[tuple[str, str, int]]:
    """(name, value, line) for every assignment of a ``.env`` file, in order."""
    out: list[tuple[str, str, int]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV.match(line)
        if match is None:
            continue
        value, used = _unquote_dotenv(match.group(2), lines[i:])
        out.append((match.group(1), value, i))
        i += used
        _count(len(out), ".env")
    return out


def read_ini(text: str) -> dict[str, Entries]:
    """Section → entries of an INI file (keys lower-cased, section names as written)."""
    sections: dict[str, Entries] = {}
    current: Entries = sections.setdefault("", {})
    last_key: str | None = None
    total = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        section = _SECTION.match(raw)
        if section is not None:
            current = sections.setdefault(section.group(1).strip(), {})
            last_key = None
            continue
        if raw[:1] in (" ", "\t") and last_key is not None:
            value, line = current[last_key]
            current[last_key] = ((value + "\n" + stripped).strip(), line)
            continue
        key, sep, value = _split_ini(stripped)
        if not sep:
            continue
        last_key = key.strip().lower()
        current[last_key] = (value.strip(), number)
        total += 1
        _count(total, "INI")
    if not sections[""]:
        del sections[""]
    return sections


def _split_ini(line: str) -> tuple[str, str, str]:
    positions = [p for p in (line.find("="), line.find(":")) if p != -1]
    if not positions:
        return line, "", ""
    at = min(positions)
    return line[:at], line[at], line[at + 1 :]
