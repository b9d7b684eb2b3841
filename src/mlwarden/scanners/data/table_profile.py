"""Profiling a table of any size: which columns hold which regulated data.

Readers (CSV, JSON lines, Parquet) feed batches of columns. Each column is examined in
full for its first ``head_rows`` values; then it is judged:

- *dense* (a candidate in a good share of values: an e-mail column, a column of ids):
  its class is already clear and validating every value would dominate the cost, so the
  rest of it is sampled uniformly (reservoir sampling, Vitter's algorithm L: the work is
  proportional to the sample, not the table) and the sample is examined at the end;
- *sparse* (free text, notes, numbers with no candidates): every further value is
  searched, so one SSN in row 900,000 of a comments column is still found.

A sparse column that turns dense later (sorted data) switches to sampling. Memory is
bounded by the reservoirs (values cut to ``_SAMPLE_CHARS``) and one batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mlwarden.scanners.data.column_classifier import ColumnStats
from mlwarden.scanners.data.settings import DataScanSettings

_SAMPLE_CHARS = 512
_SAMPLE_BUDGET_CHARS = 16 << 20
"""All reservoirs together hold at most about this many characters."""
_MIN_SWITCH_VALUES = 200


class Reservoir:
    """A uniform sample of ``k`` items from a stream of unknown length (algorithm L)."""

    def __init__(self, k: int, rng: random.Random) -> None:
        self.k = k
        self.rng = rng
        self.items: list[tuple[int, str]] = []
        self.offered = 0
        self._w = 1.0
        self._next = 0

    def _skip(self) -> None:
        self._w *= math.exp(math.log(1.0 - self.rng.random()) / self.k)
        gap = math.floor(math.log(1.0 - self.rng.random()) / math.log1p(-self._w))
        self._next += gap + 1

    def offer(self, values: Sequence[str], lines: Sequence[int]) -> None:
        """Offer a batch; only the values the sample keeps are touched in Python."""
        n = len(values)
        i = 0
        while len(self.items) < self.k and i < n:
            self.items.append((lines[i], values[i][:_SAMPLE_CHARS]))
            i += 1
            self.offered += 1
            if len(self.items) == self.k:
                self._next = self.offered - 1
                self._skip()
        base = self.offered - i  # stream index of values[0]
        while len(self.items) == self.k:
            local = self._next - base
            if local >= n:
                break
            self.items[self.rng.randrange(self.k)] = (lines[local], values[local][:_SAMPLE_CHARS])
            self._skip()
        self.offered = base + n


@dataclass
class ColumnProfile:
    """One column's statistics and how the rest of it is being read."""

    stats: ColumnStats
    examined: int = 0
    """Values examined in full (head and sparse phases)."""
    candidates: int = 0
    examined_non_empty: int = 0
    non_empty: int = 0
    """Non-empty values in the whole column (examined or not)."""
    dense: bool = False
    reservoir: Reservoir | None = None
    batch_candidates: list[int] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        return self.reservoir is not None


class TableProfile:
    """Column statistics of one table, fed in batches; call :meth:`finish` at the end."""

    def __init__(self, settings: DataScanSettings, rng_seed: int | None = None) -> None:
        self.settings = settings
        self.columns: dict[str, ColumnProfile] = {}
        self.order: list[str] = []
        self.rows = 0
        self.dropped_columns = 0
        self._rng = random.Random(settings.seed if rng_seed is None else rng_seed)

    def _column(self, name: str) -> ColumnProfile | None:
        column = self.columns.get(name)
        if column is None:
            if len(self.columns) >= self.settings.max_columns:
                self.dropped_columns += 1
                return None
            stats = ColumnStats(
                name, region=self.settings.region, max_cell_chars=self.settings.max_cell_chars
            )
            column = self.columns[name] = ColumnProfile(stats)
            self.order.append(name)
        return column

    def add_batch(self, columns: Mapping[str, Sequence[str]], lines: Sequence[int]) -> None:
        """Add rows: ``columns[name][i]`` is the value of row ``lines[i]`` ("" when absent)."""
        for name, values in columns.items():
            column = self._column(name)
            if column is not None:
                self._feed(column, values, lines)
        self.rows += len(lines)

    def _feed(self, column: ColumnProfile, values: Sequence[str], lines: Sequence[int]) -> None:
        head = self.settings.head_rows
        if column.reservoir is None and column.examined < head:
            take = min(len(values), head - column.examined)
            self._examine(column, values[:take], lines[:take])
            values, lines = values[take:], lines[take:]
            if column.examined >= head:
                self._judge(column)
        if not values:
            return
        if column.reservoir is not None:
            column.reservoir.offer(values, lines)
            column.non_empty += len(values) - values.count("")
            return
        found = self._examine(column, values, lines)
        non_empty = len(values) - values.count("")
        if non_empty >= _MIN_SWITCH_VALUES and found > self.settings.dense_candidates * non_empty:
            self._start_sampling(column)

    def _examine(self, column: ColumnProfile, values: Sequence[str], lines: Sequence[int]) -> int:
        found = column.stats.add(values, lines)
        column.examined += len(values)
        column.candidates += found
        non_empty = len(values) - values.count("")
        column.examined_non_empty += non_empty
        column.non_empty += non_empty
        return found

    def _judge(self, column: ColumnProfile) -> None:
        threshold = self.settings.dense_candidates * max(1, column.examined_non_empty)
        if column.candidates > threshold:
            self._start_sampling(column)

    def _start_sampling(self, column: ColumnProfile) -> None:
        column.dense = True
        per_column = _SAMPLE_BUDGET_CHARS // (_SAMPLE_CHARS * max(1, len(self.columns)))
        k = max(50, min(self.settings.sample_rows, per_column))
        column.reservoir = Reservoir(k, self._rng)

    def finish(self) -> None:
        """Examine the reservoir samples of dense columns."""
        for column in self.columns.values():
            if column.reservoir is not None and column.reservoir.items:
                items = sorted(column.reservoir.items)
                column.stats.add([v for _, v in items], [line for line, _ in items])
                column.reservoir.items = []

    def ordered(self) -> list[tuple[str, ColumnProfile]]:
        """Columns in the order they first appeared."""
        return [(name, self.columns[name]) for name in self.order]
