"""The regulated-data scanners, one per format: ``csv``, ``tsv``, ``jsonl``, ``parquet``,
``text`` and ``notebook``.

Each implements :class:`mlwarden.scanners.base.Scanner`. Tables report one finding per
(column, entity); free text and notebooks one per entity. Findings already counted are
reported even when a limit or malformed data stops the scan part-way: they are yielded
first, then the :class:`LimitExceeded` or :class:`MalformedInput` is raised for the
engine to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from mlwarden.findings import Finding, Rule
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput, ScanContext
from mlwarden.scanners.data import (
    csv_reader,
    jsonl_reader,
    notebook_reader,
    parquet_reader,
    reporting,
)
from mlwarden.scanners.data.csv_reader import RowStats
from mlwarden.scanners.data.entity_types import ALL_ENTITIES, CREDENTIAL
from mlwarden.scanners.data.rules import RULES
from mlwarden.scanners.data.settings import DataScanSettings
from mlwarden.scanners.data.table_profile import TableProfile
from mlwarden.scanners.data.text_stream import open_text, text_chunks
from mlwarden.scanners.data.text_tally import TextTally

_DEFAULTS = DataScanSettings()


def settings_of(ctx: ScanContext) -> DataScanSettings:
    """The data-scan settings of a scan (defaults when none were configured)."""
    return ctx.settings.pii or _DEFAULTS


def _prose_settings(ctx: ScanContext) -> DataScanSettings:
    """Settings for text and notebooks, where the secrets scanner also reads every line and
    reports credentials with token-format checks: they are not reported twice."""
    settings = settings_of(ctx)
    wanted = (settings.entities or ALL_ENTITIES) - {CREDENTIAL}
    return replace(settings, entities=frozenset(wanted))


class _TableScanner:
    """Shared flow of the table formats: read batches, profile, report."""

    name = "table"
    rules: tuple[Rule, ...] = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        settings = settings_of(ctx)
        profile = TableProfile(settings)
        stats = RowStats()
        stopped: LimitExceeded | MalformedInput | None = None
        try:
            for columns, lines in self._batches(blob, ctx, settings, stats):
                profile.add_batch(columns, lines)
                ctx.budget.check_time()
        except (LimitExceeded, MalformedInput) as exc:
            stopped = exc
        profile.finish()
        yield from reporting.table_findings(profile, blob.location, settings)
        yield from self._problems(blob, ctx, settings, stats, profile)
        if stopped is not None:
            raise stopped
        if stats.unreadable > settings.max_bad_rows or (
            stats.unreadable and profile.rows == 0 and blob.size > 0
        ):
            raise MalformedInput(
                f"{stats.unreadable} of {stats.rows} rows could not be read as {self.name}"
            )

    def _batches(
        self, blob: Blob, ctx: ScanContext, settings: DataScanSettings, stats: RowStats
    ) -> Iterator[tuple[dict[str, list[str]] | dict[str, tuple[str, ...]], list[int]]]:
        raise NotImplementedError

    def _problems(
        self,
        blob: Blob,
        ctx: ScanContext,
        settings: DataScanSettings,
        stats: RowStats,
        profile: TableProfile,
    ) -> Iterator[Finding]:
        where = blob.location
        if stats.unreadable:
            ctx.incomplete.append(f"{where}: {stats.unreadable} unreadable rows")
            first = stats.first_bad_line or stats.lines.first_overlong
            what = "rows (malformed, or longer than max_line_chars)"
            yield reporting.unreadable_rows_finding(where, stats.unreadable, first, what)
        if profile.dropped_columns or stats.wide_rows:
            ctx.incomplete.append(f"{where}: columns beyond max_columns")
            yield reporting.unreadable_rows_finding(
                where,
                max(profile.dropped_columns, stats.wide_rows),
                None,
                f"columns or rows beyond max_columns ({settings.max_columns})",
            )


class CsvScanner(_TableScanner):
    """Comma-, semicolon- or pipe-separated tables (delimiter sniffed from content)."""

    name = "csv"
    delimiter: str | None = None

    def _batches(
        self, blob: Blob, ctx: ScanContext, settings: DataScanSettings, stats: RowStats
    ) -> Iterator[tuple[dict[str, list[str]] | dict[str, tuple[str, ...]], list[int]]]:
        shape = csv_reader.sniff(blob.data, self.delimiter)
        yield from csv_reader.read_batches(
            blob.data,
            shape,
            max_line_chars=settings.max_line_chars,
            max_columns=settings.max_columns,
            stats=stats,
        )


class TsvScanner(CsvScanner):
    """Tab-separated tables."""

    name = "tsv"
    delimiter = "\t"


class JsonLinesScanner(_TableScanner):
    """JSON lines (one JSON value per line); key paths are the columns."""

    name = "jsonl"

    def _batches(
        self, blob: Blob, ctx: ScanContext, settings: DataScanSettings, stats: RowStats
    ) -> Iterator[tuple[dict[str, list[str]] | dict[str, tuple[str, ...]], list[int]]]:
        yield from jsonl_reader.read_batches(
            blob.data,
            max_line_chars=settings.max_line_chars,
            max_depth=settings.max_json_depth,
            stats=stats,
        )


class ParquetScanner(_TableScanner):
    """Apache Parquet tables (string and integer columns)."""

    name = "parquet"

    def _batches(
        self, blob: Blob, ctx: ScanContext, settings: DataScanSettings, stats: RowStats
    ) -> Iterator[tuple[dict[str, list[str]] | dict[str, tuple[str, ...]], list[int]]]:
        layout = parquet_reader.ParquetLayout()
        for columns, lines in parquet_reader.read_batches(
            blob.data,
            max_columns=settings.max_columns,
            limits=ctx.limits,
            budget=ctx.budget,
            layout=layout,
        ):
            stats.rows += len(lines)
            yield columns, lines


class TextScanner:
    """Plain text (logs, exports, documents): one finding per entity found."""

    name = "text"
    rules: tuple[Rule, ...] = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        settings = _prose_settings(ctx)
        tally = TextTally(settings)
        stopped: LimitExceeded | None = None
        line = 1
        try:
            with open_text(blob.data) as stream:
                for chunk in text_chunks(stream, settings.text_chunk_chars):
                    tally.add(chunk, first_line=line)
                    line += chunk.count("\n")
                    ctx.budget.check_time()
        except LimitExceeded as exc:
            stopped = exc
        yield from reporting.text_findings(tally, blob.location, settings)
        if stopped is not None:
            raise stopped


class NotebookScanner:
    """Jupyter notebooks: cell sources and text outputs, located as ``field="cell N"``."""

    name = "notebook"
    rules: tuple[Rule, ...] = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        settings = _prose_settings(ctx)
        tally = TextTally(settings)
        stopped: LimitExceeded | None = None
        try:
            for piece in notebook_reader.read_cells(blob.data, ctx.limits.max_metadata_bytes):
                tally.add(piece.text, first_line=1, where=piece.field)
                ctx.budget.check_time()
        except LimitExceeded as exc:
            stopped = exc
        yield from reporting.text_findings(tally, blob.location, settings)
        if stopped is not None:
            raise stopped
