"""What a masking run did: rows, replacements per target and operator, columns dropped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class MaskSummary:
    """The result of :func:`mlwarden.masking.engine.mask_file`. Holds no masked or raw values."""

    input: str
    output: str
    format: str
    dataset: str | None
    """The policy dataset section applied (None: project-level rules only)."""
    rows: int
    """Records read (CSV/TSV data rows, JSON lines, Parquet rows, text lines)."""
    replacements: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(target, operator) -> values replaced. Targets are ``column <path>`` for column rules
    and the entity id for detected or classified values."""
    dropped_columns: tuple[str, ...] = ()
    classified_columns: Mapping[str, str] = field(default_factory=dict)
    """Column path -> entity for columns masked whole because of their classification."""

    @property
    def total_replacements(self) -> int:
        return sum(self.replacements.values())


class Tally:
    """Counts replacements while a run goes; turned into a :class:`MaskSummary` at the end."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.dropped: dict[str, None] = {}
        self.classified: dict[str, str] = {}

    def add(self, target: str, operator: str, count: int = 1) -> None:
        self.counts[(target, operator)] += count

    def summary(
        self, *, input: str, output: str, format: str, dataset: str | None, rows: int
    ) -> MaskSummary:
        return MaskSummary(
            input=input,
            output=output,
            format=format,
            dataset=dataset,
            rows=rows,
            replacements=MappingProxyType(dict(sorted(self.counts.items()))),
            dropped_columns=tuple(self.dropped),
            classified_columns=MappingProxyType(dict(self.classified)),
        )
