"""Content-first tests for the data formats, for :mod:`mlwarden.scanners.detect`.

Each ``looks_like_*`` reads at most the first 64 KiB (Parquet: the first and last four
bytes) and uses the file name only to break ties. :func:`data_format` applies them in the
order that keeps them apart: Parquet (magic bytes), notebook (a JSON object with
``cells``), JSON lines (several JSON values, one per line), TSV, CSV, then plain text.
"""

from __future__ import annotations

import json

from mlwarden.scanners.base import Buffer
from mlwarden.scanners.data.csv_reader import choose_delimiter
from mlwarden.scanners.data.text_stream import sample_text

_SNIFF = 64 * 1024
_PARQUET_MAGIC = b"PAR1"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_CSV_SUFFIXES = (".csv",)
_TSV_SUFFIXES = (".tsv", ".tab")
_MIN_CONSISTENCY = 0.8


def _head(data: Buffer) -> bytes:
    return bytes(memoryview(data)[:_SNIFF])


def _is_text(head: bytes) -> bool:
    """Decodable text with few control characters (UTF-16/32 with a BOM included)."""
    if not head:
        return False
    text = sample_text(head)
    if not text:
        return False
    controls = sum(1 for c in text if c < " " and c not in "\t\n\r\f")
    replaced = text.count("\ufffd")
    return (controls + replaced) <= len(text) // 100 and "\x00" not in text


def looks_like_parquet(data: Buffer, name: str = "") -> bool:
    """``PAR1`` at both ends (the footer length sits just before the last magic)."""
    view = memoryview(data)
    return len(view) >= 12 and view[:4] == _PARQUET_MAGIC and view[-4:] == _PARQUET_MAGIC


def looks_like_notebook(data: Buffer, name: str = "") -> bool:
    """A JSON object whose top level has ``cells`` (or nbformat 3 ``worksheets``) and
    ``nbformat``; the ``.ipynb`` suffix alone is not enough."""
    head = _head(data)
    text = sample_text(head).lstrip()
    if not text.startswith("{"):
        return False
    if len(data) <= _SNIFF:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return False
        return (
            isinstance(doc, dict) and "nbformat" in doc and ("cells" in doc or "worksheets" in doc)
        )
    # Too large to parse here: the keys Jupyter writes, near the start or the end.
    tail = bytes(memoryview(data)[-4096:])
    keys = text[:4096] + tail.decode("utf-8", "replace")
    return '"nbformat"' in keys and (
        '"cells"' in keys or '"worksheets"' in keys or name.lower().endswith(".ipynb")
    )


def looks_like_jsonl(data: Buffer, name: str = "") -> bool:
    """At least two complete lines that are each a JSON object or array (one line is
    enough when the name ends in ``.jsonl``/``.ndjson``)."""
    text = sample_text(_head(data))
    lines = text.splitlines()
    if len(data) > _SNIFF and lines:
        lines = lines[:-1]  # the sample may cut the last line
    lines = [line for line in lines[:20] if line.strip()]
    if not lines:
        return False
    for line in lines:
        stripped = line.strip()
        if stripped[0] not in "{[":
            return False
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            return False
    return len(lines) >= 2 or name.lower().endswith(_JSONL_SUFFIXES)


def _looks_delimited(
    data: Buffer, name: str, delimiters: tuple[str, ...], suffixes: tuple[str, ...]
) -> bool:
    head = _head(data)
    if not _is_text(head):
        return False
    text = sample_text(head)
    if text.count("\n") < 1 and not name.lower().endswith(suffixes):
        return False
    _, consistency = choose_delimiter(text, delimiters)
    if consistency >= _MIN_CONSISTENCY:
        return True
    return name.lower().endswith(suffixes) and consistency > 0


def looks_like_tsv(data: Buffer, name: str = "") -> bool:
    """Text whose lines split on tabs into a consistent number (>= 2) of fields."""
    return _looks_delimited(data, name, ("\t",), _TSV_SUFFIXES)


def looks_like_csv(data: Buffer, name: str = "") -> bool:
    """Text whose lines split on ``,`` ``;`` or ``|`` into a consistent number (>= 2)
    of fields, or any text named ``.csv`` (a one-column CSV is still a CSV)."""
    if _looks_delimited(data, name, (",", ";", "|"), _CSV_SUFFIXES):
        return True
    return name.lower().endswith(_CSV_SUFFIXES) and _is_text(_head(data))


def looks_like_text(data: Buffer, name: str = "") -> bool:
    """Decodable text (UTF-8, UTF-16/32 with BOM, or cp1252) without binary control bytes."""
    return _is_text(_head(data))


def data_format(data: Buffer, name: str = "") -> str | None:
    """The data format of ``data`` (``parquet``, ``notebook``, ``jsonl``, ``tsv``, ``csv``,
    ``text``), or None when it is none of them."""
    if looks_like_parquet(data, name):
        return "parquet"
    if looks_like_notebook(data, name):
        return "notebook"
    if looks_like_jsonl(data, name):
        return "jsonl"
    if looks_like_tsv(data, name):
        return "tsv"
    if looks_like_csv(data, name):
        return "csv"
    if looks_like_text(data, name):
        return "text"
    return None
