"""CSV and TSV: header row, then data rows, masked a chunk at a time.

The first row is the header. Header cells go through entity detection too: in a file that
has no header, the "header" is a row of real data. Output keeps the delimiter, the line
endings and a leading BOM; quoting is minimal (fields are quoted only when they need it).
Cells longer than Python's CSV field limit (128 Ki characters) are refused.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mlwarden.errors import UsageError
from mlwarden.masking.formats.text_streams import TextInput, TextOutput, line_ending
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.records import DROPPED, RecordMasker


class DelimitedFormat:
    """Comma- or tab-separated values (RFC 4180 quoting)."""

    def __init__(self, name: str, delimiter: str) -> None:
        self._name = name
        self._delimiter = delimiter

    @property
    def name(self) -> str:
        return self._name

    def mask(self, source: Path, sink: BinaryIO, masker: RecordMasker, limits: MaskLimits) -> int:
        with source.open("rb") as binary:
            text = TextInput(source, binary)
            lines = text.lines(limits.max_line_chars)
            first = next(lines, None)
            if first is None:
                return 0
            ending = line_ending(first)
            reader = csv.reader(_chain(first, lines), delimiter=self._delimiter)
            out = TextOutput(sink, bom=text.had_bom)
            writer = csv.writer(out.stream, delimiter=self._delimiter, lineterminator=ending)
            rows = self._mask_rows(source, reader, writer, masker, limits)
            out.finish()
            return rows

    def _mask_rows(
        self,
        source: Path,
        reader: Any,
        writer: Any,
        masker: RecordMasker,
        limits: MaskLimits,
    ) -> int:
        header: list[str] | None = None
        dropped: set[int] = set()
        rows = chars = 0
        chunk: list[list[str]] = []
        try:
            for row in reader:
                if len(row) > limits.max_columns:
                    raise UsageError(
                        str(source),
                        f"line {reader.line_num} has {len(row)} columns "
                        f"(limit {limits.max_columns})",
                        f"check that the file is {self._name.upper()}",
                    )
                if header is None:
                    header = row
                    for index, name in enumerate(header):
                        action = masker.rule(name)
                        if action is not None and action.drop:
                            dropped.add(index)
                            masker.tally.dropped[name] = None
                    kept = [masker.mask_name(n) for i, n in enumerate(header) if i not in dropped]
                    writer.writerow(kept)
                    continue
                chunk.append(row)
                chars += sum(len(cell) for cell in row)
                if len(chunk) >= limits.chunk_rows or chars >= limits.chunk_chars:
                    rows += self._flush(chunk, header, dropped, writer, masker)
                    chars = 0
        except csv.Error as exc:
            raise UsageError(
                str(source),
                f"line {reader.line_num}: malformed {self._name.upper()} ({exc})",
                "fix the quoting on that line",
            ) from None
        if header is not None and chunk:
            rows += self._flush(chunk, header, dropped, writer, masker)
        return rows

    def _flush(
        self,
        chunk: list[list[str]],
        header: list[str],
        dropped: set[int],
        writer: Any,
        masker: RecordMasker,
    ) -> int:
        names = [_column_name(header, i) for i in range(max(len(r) for r in chunk))]
        samples: dict[str, list[str]] = {}
        for row in chunk:
            for index, cell in enumerate(row):
                if index not in dropped:
                    masker.sample(samples, names[index], cell)
        masker.classify(samples)
        for row in chunk:
            out: list[str] = []
            for index, cell in enumerate(row):
                if index in dropped:
                    continue
                masked = masker.mask_value(names[index], cell)
                if masked is not DROPPED:
                    out.append(masked)
            writer.writerow(out)
        count = len(chunk)
        chunk.clear()
        return count


def _column_name(header: list[str], index: int) -> str:
    # Cells past the header's width still need a path; they get detection like any column.
    return header[index] if index < len(header) else f"#{index + 1}"


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
