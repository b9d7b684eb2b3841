"""Counting regulated data in free text: per entity, how often and where first.

A 1 GB log holds millions of e-mail addresses; the report needs one line per entity (a
count, the first place, one redacted example), not millions of findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlwarden.scanners.data import named_entities
from mlwarden.scanners.data.entity_types import LOCATION, PERSON
from mlwarden.scanners.data.redaction import redact
from mlwarden.scanners.data.settings import DataScanSettings
from mlwarden.scanners.data.text_detector import verdicts


@dataclass
class TextHits:
    """Occurrences of one entity in a file's free text."""

    count: int = 0
    confidence_sum: float = 0.0
    first_line: int | None = None
    first_field: str | None = None
    evidence: str = ""

    @property
    def confidence(self) -> float:
        return self.confidence_sum / self.count if self.count else 0.0


@dataclass
class TextTally:
    """Entity counts over all the free text of one file."""

    settings: DataScanSettings
    hits: dict[str, TextHits] = field(default_factory=dict)
    chars: int = 0

    def add(
        self,
        text: str,
        *,
        first_line: int = 1,
        where: str | None = None,
        hints: frozenset[str] = frozenset(),
    ) -> None:
        """Count the matches in ``text``, whose first line is line ``first_line`` of the
        file (or of the notebook cell named by ``where``)."""
        settings = self.settings
        wanted = settings.entities
        threshold = settings.min_confidence
        self.chars += len(text)
        found = [
            (v.entity, v.start, v.end, v.confidence)
            for v in verdicts(text, hints, settings.region)
            if v.confidence >= threshold and (wanted is None or v.entity in wanted)
        ]
        if settings.use_ner and named_entities.available():
            found.extend(self._names(text, found))
            found.sort(key=lambda item: item[1])
        line, position = first_line, 0
        for entity, start, end, confidence in found:
            tally = self.hits.get(entity)
            if tally is None:
                tally = self.hits[entity] = TextHits()
            tally.count += 1
            tally.confidence_sum += confidence
            if tally.first_line is None:
                if start >= position:
                    line += text.count("\n", position, start)
                else:
                    line = first_line + text.count("\n", 0, start)
                position = start
                tally.first_line, tally.first_field = line, where
                tally.evidence = redact(entity, text[start:end])

    def _names(
        self, text: str, found: list[tuple[str, int, int, float]]
    ) -> list[tuple[str, int, int, float]]:
        wanted = self.settings.entities
        taken = [(s, e) for _, s, e, _ in found]
        names = []
        for entity, start, end in named_entities.find_names(text):
            if entity not in (PERSON, LOCATION) or (wanted is not None and entity not in wanted):
                continue
            if not any(s < end and start < e for s, e in taken):
                names.append((entity, start, end, 0.7))
        return names
