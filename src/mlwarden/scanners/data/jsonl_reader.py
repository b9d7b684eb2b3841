"""JSON lines read as a table: each record's key paths are its columns.

A record ``{"user": {"email": "a@b.c"}, "tags": ["x", "y"]}`` gives the columns
``user.email`` and ``tags[]`` (list items are joined into one cell). Strings and integers
are kept; floats, booleans and nulls hold no regulated data of interest and are dropped.
A line that is not JSON, is nested deeper than the bound, or is too long is counted as
unreadable and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from mlwarden.scanners.base import Buffer
from mlwarden.scanners.data.csv_reader import BATCH_ROWS, RowStats
from mlwarden.scanners.data.text_stream import bounded_lines, open_text

_MAX_ITEMS_PER_RECORD = 10_000
_ROOT = "$"


def flatten(
    value: object, depth_limit: int, out: dict[str, list[str]], prefix: str = "", depth: int = 0
) -> int:
    """Add ``value``'s strings and integers to ``out`` by key path; return items added.

    Raises ``ValueError`` when the value is nested deeper than ``depth_limit``.
    """
    if depth > depth_limit:
        raise ValueError(f"nested deeper than {depth_limit} levels")
    if isinstance(value, str):
        out.setdefault(prefix or _ROOT, []).append(value)
        return 1
    if isinstance(value, int) and not isinstance(value, bool):
        out.setdefault(prefix or _ROOT, []).append(str(value))
        return 1
    added = 0
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            added += flatten(item, depth_limit, out, path[:256], depth + 1)
            if added > _MAX_ITEMS_PER_RECORD:
                break
    elif isinstance(value, list):
        path = f"{prefix}[]" if prefix else "[]"
        for item in value:
            added += flatten(item, depth_limit, out, path, depth + 1)
            if added > _MAX_ITEMS_PER_RECORD:
                break
    return added


def read_batches(
    data: Buffer, *, max_line_chars: int, max_depth: int, stats: RowStats
) -> Iterator[tuple[dict[str, list[str]], list[int]]]:
    """Column batches ``(key path -> values, line numbers)`` of a JSON-lines file."""
    with open_text(data) as stream:
        columns: dict[str, list[str]] = {}
        lines: list[int] = []
        loads = json.loads
        for line in bounded_lines(stream, max_line_chars, stats.lines):
            stats.rows += 1
            text = line.strip()
            if not text:
                continue
            record: dict[str, list[str]] = {}
            try:
                flatten(loads(text), max_depth, record)
            except (ValueError, RecursionError):
                stats.bad_rows += 1
                if stats.first_bad_line is None:
                    stats.first_bad_line = stats.lines.lines
                continue
            row = len(lines)
            for key, items in record.items():
                cells = columns.get(key)
                if cells is None:
                    cells = columns[key] = [""] * row
                cells.append("\n".join(items))
            lines.append(stats.lines.lines)
            for cells in columns.values():
                if len(cells) < row + 1:
                    cells.append("")
            if len(lines) >= BATCH_ROWS:
                yield columns, lines
                columns, lines = {}, []
        if lines:
            yield columns, lines
