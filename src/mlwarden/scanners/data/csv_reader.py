"""CSV and TSV tables read as a stream of column batches.

The delimiter is chosen by parsing the first lines with each candidate delimiter and
keeping the one that splits them into the most consistent number of fields (Python's
``csv.Sniffer`` is regex-heavy and easily misled by quoted commas). The first row is a
header when its cells look like labels: distinct, short, not numbers, and holding nothing
the detectors would flag. Rows the ``csv`` module rejects, and lines longer than the
configured bound, are counted and skipped.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice, zip_longest

from mlwarden.scanners.base import Buffer
from mlwarden.scanners.data.candidates import iter_candidates
from mlwarden.scanners.data.text_stream import LineStats, bounded_lines, open_text, sample_text

BATCH_ROWS = 4_096
_SNIFF_LINES = 64
_DELIMITERS = (",", ";", "\t", "|")
_NUMBER = re.compile(r"[-+]?(?:\d+[.,]?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SAMPLE_BYTES = 64 * 1024
_LABEL = re.compile(r"[^\W\d][\w .()/#%&+-]{0,63}", re.UNICODE)


@dataclass
class CsvShape:
    """How a CSV file is written."""

    delimiter: str
    header: list[str] | None


@dataclass
class RowStats:
    """Rows read and rows that could not be read."""

    rows: int = 0
    bad_rows: int = 0
    first_bad_line: int | None = None
    wide_rows: int = 0
    lines: LineStats = field(default_factory=LineStats)

    @property
    def unreadable(self) -> int:
        return self.bad_rows + self.lines.overlong


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    try:
        return [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        return []


def choose_delimiter(sample: str, candidates: tuple[str, ...] = _DELIMITERS) -> tuple[str, float]:
    """The delimiter that splits the sample's lines most consistently, and how consistently
    (share of lines with the most common field count; 0 when no candidate splits lines)."""
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_score = candidates[0], (0.0, 0)
    for delimiter in candidates:
        counts = _field_counts(lines, delimiter)
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (freq / len(counts), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best, best_score[0]


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text.strip()))


def _is_header(first: list[str], rest: list[list[str]]) -> bool:
    """Like ``csv.Sniffer.has_header``: the first row is a header when its cells are
    distinct labels holding nothing a detector flags, and no column contradicts it (a
    column of numbers or of fixed-width values under a label of another kind votes for a
    header, one under a label of the same kind votes against)."""
    cells = [c.strip() for c in first]
    if not cells or any(not c for c in cells) or len(set(cells)) != len(cells):
        return False
    if not all(_LABEL.fullmatch(c) for c in cells):
        return False
    if any(True for _ in iter_candidates("\x00".join(cells))):
        return False  # a label holds no e-mail, card number or date
    votes = 0
    for j, label in enumerate(cells):
        column = [row[j].strip() for row in rest if len(row) > j and row[j].strip()]
        if not column:
            continue
        if all(_is_number(v) for v in column):
            votes += -1 if _is_number(label) else 1
        elif len({len(v) for v in column}) == 1:
            votes += -1 if len(label) == len(column[0]) else 1
    return votes >= 0


def sniff(data: Buffer, delimiter: str | None = None) -> CsvShape:
    """Delimiter (unless given) and header row of a CSV file."""
    sample = sample_text(data)
    if delimiter is None:
        delimiter, _ = choose_delimiter(sample)
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    if len(lines) > 1 and len(sample.encode()) >= _SAMPLE_BYTES - 4:
        lines = lines[:-1]  # the sample may cut the last line
    try:
        rows = [row for row in islice(csv.reader(lines, delimiter=delimiter), 21) if row]
    except csv.Error:
        rows = []
    header = None
    if rows and _is_header(rows[0], rows[1:]):
        header = [c.strip() for c in rows[0]]
    return CsvShape(delimiter, header)


def column_names(header: list[str] | None, width: int) -> list[str]:
    """Names for ``width`` columns: the header's, then ``column N`` (1-based)."""
    names = list(header or [])
    seen = set(names)
    for i in range(len(names), width):
        name = f"column {i + 1}"
        while name in seen:
            name += "'"
        names.append(name)
        seen.add(name)
    return names


def read_batches(
    data: Buffer,
    shape: CsvShape,
    *,
    max_line_chars: int,
    max_columns: int,
    stats: RowStats,
) -> Iterator[tuple[dict[str, tuple[str, ...]], list[int]]]:
    """Column batches ``(name -> values, data rows)``; rows are numbered from 1 after the
    header. Rows wider than ``max_columns`` are cut (and counted in ``stats.wide_rows``)."""
    with open_text(data) as stream:
        reader = csv.reader(
            bounded_lines(stream, max_line_chars, stats.lines), delimiter=shape.delimiter
        )
        if shape.header is not None:
            try:
                next(reader, None)
            except csv.Error:
                stats.bad_rows += 1  # the header itself is broken (an unclosed quote)
        batch: list[list[str]] = []
        lines: list[int] = []
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                stats.bad_rows += 1
                stats.rows += 1
                if stats.first_bad_line is None:
                    stats.first_bad_line = stats.rows
                continue
            stats.rows += 1
            if not row:
                continue  # a blank line keeps its row number but holds nothing
            if len(row) > max_columns:
                stats.wide_rows += 1
                row = row[:max_columns]
            batch.append(row)
            lines.append(stats.rows)
            if len(batch) >= BATCH_ROWS:
                yield _columns(batch, shape.header), lines
                batch, lines = [], []
        if batch:
            yield _columns(batch, shape.header), lines


def _columns(rows: list[list[str]], header: list[str] | None) -> dict[str, tuple[str, ...]]:
    transposed = list(zip_longest(*rows, fillvalue=""))
    names = column_names(header, len(transposed))
    return dict(zip(names, transposed, strict=False))
