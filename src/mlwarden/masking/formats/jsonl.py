"""JSON lines: one JSON value per line, masked a chunk of lines at a time.

Nested objects are masked by dotted column path (``user.email``). Every masked line is
written back re-serialised (never copied through), and an object with a duplicate key is
refused: a parser keeps only one of the two values, so the other would escape masking.
Blank lines are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from mlwarden.errors import UsageError
from mlwarden.masking.formats.text_streams import TextInput, TextOutput, line_ending
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.records import DROPPED, RecordMasker, RecordShapeError

_BLANK = object()


class _DuplicateKey(ValueError):
    pass


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key {key!r}")
        out[key] = value
    return out


class JsonLinesFormat:
    """JSON lines (``.jsonl``, ``.ndjson``)."""

    name = "jsonl"

    def mask(self, source: Path, sink: BinaryIO, masker: RecordMasker, limits: MaskLimits) -> int:
        with source.open("rb") as binary:
            text = TextInput(source, binary)
            out = TextOutput(sink, bom=text.had_bom)
            chunk: list[tuple[Any, str]] = []
            rows = chars = 0
            for line in text.lines(limits.max_line_chars):
                body = line.strip()
                if not body:
                    chunk.append((_BLANK, line))
                    continue
                chunk.append((self._parse(source, text.line_number, body), line_ending(line)))
                rows += 1
                chars += len(line)
                if len(chunk) >= limits.chunk_rows or chars >= limits.chunk_chars:
                    self._flush(source, text.line_number, chunk, out, masker)
                    chars = 0
            self._flush(source, text.line_number, chunk, out, masker)
            out.finish()
            return rows

    @staticmethod
    def _parse(source: Path, line_number: int, body: str) -> Any:
        try:
            return json.loads(body, object_pairs_hook=_pairs_without_duplicates)
        except _DuplicateKey as exc:
            raise UsageError(
                str(source), f"line {line_number}: {exc}", "remove the duplicate key"
            ) from None
        except (ValueError, RecursionError) as exc:
            problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise UsageError(
                str(source),
                f"line {line_number}: not valid JSON ({problem})",
                "check that the file is JSON lines (one JSON value per line)",
            ) from None

    @staticmethod
    def _flush(
        source: Path,
        last_line: int,
        chunk: list[tuple[Any, str]],
        out: TextOutput,
        masker: RecordMasker,
    ) -> None:
        try:
            samples: dict[str, list[str]] = {}
            for record, _ in chunk:
                if record is not _BLANK:
                    masker.sample(samples, "", record)
            masker.classify(samples)
            for record, ending in chunk:
                if record is _BLANK:
                    out.stream.write(ending)
                    continue
                masked = masker.mask_value("", record)
                if masked is DROPPED:  # a rule matching every path ("*") dropped it all
                    masked = None
                out.stream.write(json.dumps(masked, ensure_ascii=False) + ending)
        except RecordShapeError as exc:
            raise UsageError(
                str(source), f"a record before line {last_line + 1} is {exc}", "flatten it"
            ) from None
        chunk.clear()
