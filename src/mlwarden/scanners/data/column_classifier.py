"""Column statistics: which data classes a table column holds, and how sure that is.

A :class:`ColumnStats` is fed batches of a column's values (all of them, or a sample). Each
batch is joined with NUL into one text and searched in one pass; matches are attributed to
cells by offset. The statistics kept per entity are what a report needs: how many values
matched, how many had the entity's *shape* but failed its checksum, the row of the first
match and its redacted evidence.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from operator import add

from mlwarden.scanners.data.context_words import hinted_entities
from mlwarden.scanners.data.entity_types import (
    CREDENTIAL,
    LOCATION,
    PERSON,
    ColumnClass,
)
from mlwarden.scanners.data.redaction import redact
from mlwarden.scanners.data.text_detector import CandidateCount, verdicts, whole_value

_WHOLE_VALUE = frozenset({PERSON, LOCATION, CREDENTIAL})
_NOISE_MIN = 10
"""Shape-alike values needed before a column can be judged as noise for an entity."""


@dataclass
class EntityTally:
    """What one column holds of one entity."""

    matched: int = 0
    """Values with at least one validated match."""
    lookalikes: int = 0
    """Values with the entity's shape that failed its checksum, and no valid match."""
    hits: int = 0
    """Validated matches (a value may hold several)."""
    confidence_sum: float = 0.0
    first_line: int | None = None
    evidence: str = ""
    """Redacted first match."""

    @property
    def value_confidence(self) -> float:
        return self.confidence_sum / self.hits if self.hits else 0.0

    @property
    def is_noise(self) -> bool:
        """Mostly checksum failures: random numbers of the same shape, not the entity."""
        shaped = self.matched + self.lookalikes
        return shaped >= _NOISE_MIN and self.lookalikes * 2 > shaped


@dataclass
class ColumnStats:
    """Streaming statistics of one column."""

    name: str
    region: str = "US"
    max_cell_chars: int = 65_536
    seen: int = 0
    """Non-empty values examined."""
    truncated: int = 0
    """Values longer than ``max_cell_chars`` (only their start was examined)."""
    tallies: dict[str, EntityTally] = field(default_factory=dict)
    hints: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.hints = hinted_entities(self.name)

    def add(self, values: Sequence[str], lines: Sequence[int]) -> int:
        """Examine ``values`` (``lines[i]`` is the 1-based row of ``values[i]``).

        Returns the number of candidates found, which callers use to tell dense columns
        (a candidate in most values) from sparse ones (free text with the odd match).
        """
        cap = self.max_cell_chars
        cells = values if isinstance(values, list | tuple) else list(values)
        if cells and max(map(len, cells)) > cap:  # the per-cell loop only when needed
            cells = [c[:cap] for c in cells]
            self.truncated += sum(len(v) > cap for v in values)
        self.seen += len(cells) - cells.count("")
        # NUL joins cells: no pattern crosses it, and context windows stop at it.
        text = "\x00".join(cells)
        if text.count("\x00") != len(cells) - 1:
            cells = [c.replace("\x00", " ") for c in cells]
            text = "\x00".join(cells)
        starts: list[int] | None = None
        matched_cells: dict[str, set[int]] = {}
        shaped_cells: dict[str, set[int]] = {}
        count = CandidateCount()
        for verdict in verdicts(text, self.hints, self.region, count, self.name):
            if starts is None:
                # Cell i starts after the i NULs and the lengths of the cells before it.
                lengths = accumulate(map(len, cells), initial=0)
                starts = list(map(add, lengths, range(len(cells) + 1)))
            cell = bisect_right(starts, verdict.start) - 1
            if verdict.confidence <= 0:
                shaped_cells.setdefault(verdict.entity, set()).add(cell)
                continue
            matched_cells.setdefault(verdict.entity, set()).add(cell)
            tally = self._tally(verdict.entity)
            tally.hits += 1
            tally.confidence_sum += verdict.confidence
            line = lines[cell]
            if tally.first_line is None or line < tally.first_line:
                tally.first_line = line
                tally.evidence = redact(verdict.entity, text[verdict.start : verdict.end])
        candidates = count.candidates
        if self.hints & _WHOLE_VALUE:
            candidates += self._whole_values(cells, lines, matched_cells)
        for entity, found in matched_cells.items():
            self._tally(entity).matched += len(found)
        for entity, shaped in shaped_cells.items():
            self._tally(entity).lookalikes += len(shaped - matched_cells.get(entity, set()))
        return candidates

    def _whole_values(
        self, cells: Sequence[str], lines: Sequence[int], matched: dict[str, set[int]]
    ) -> int:
        """Cells that are the entity their column names; returns how many were."""
        found = 0
        claimed = set().union(*matched.values()) if matched else set()
        for i, cell in enumerate(cells):
            if not cell or i in claimed:
                continue
            verdict = whole_value(cell, self.hints)
            if verdict is None:
                continue
            found += 1
            matched.setdefault(verdict.entity, set()).add(i)
            tally = self._tally(verdict.entity)
            tally.hits += 1
            tally.confidence_sum += verdict.confidence
            if tally.first_line is None or lines[i] < tally.first_line:
                tally.first_line = lines[i]
                tally.evidence = redact(verdict.entity, cell[verdict.start : verdict.end])
        return found

    def _tally(self, entity: str) -> EntityTally:
        tally = self.tallies.get(entity)
        if tally is None:
            tally = self.tallies[entity] = EntityTally()
        return tally

    def confidence(self, entity: str) -> float:
        """Column-level confidence: share of values holding ``entity``, raised by a name hint."""
        tally = self.tallies.get(entity)
        if tally is None or not tally.matched or not self.seen:
            return 0.0
        share = min(1.0, tally.matched / self.seen)
        weight = 0.5 + 0.5 * share if entity in self.hints else share
        return round(min(1.0, tally.value_confidence * weight), 3)

    def classes(self, min_confidence: float = 0.5) -> list[ColumnClass]:
        """Entities found, best first; noise and weakly validated matches left out."""
        out = [
            ColumnClass(entity, self.confidence(entity), tally.matched, self.seen)
            for entity, tally in self.tallies.items()
            if tally.matched and not tally.is_noise and tally.value_confidence >= min_confidence
        ]
        out.sort(key=lambda c: (-c.confidence, -c.matched, c.entity))
        return out


def classify(
    name: str, values: Sequence[str], *, region: str, min_confidence: float
) -> list[ColumnClass]:
    """Implementation of :func:`mlwarden.scanners.data.entities.classify_column`."""
    stats = ColumnStats(name, region=region)
    stats.add(values, range(1, len(values) + 1))
    return stats.classes(min_confidence)
