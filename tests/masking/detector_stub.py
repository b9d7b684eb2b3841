"""A small regex detector standing in for the real one in engine-mechanics tests.

It finds e-mails, Luhn-valid card numbers, SSNs and US phone numbers, and implements the
:class:`mlwarden.masking.detection.Detector` protocol, so engine tests do not depend on the
real detector's judgement. Re-scan tests in ``test_rescan.py`` use the real detector.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlwarden.masking.operators import luhn_valid


@dataclass(frozen=True)
class Hit:
    entity: str
    start: int
    end: int
    value: str
    confidence: float


@dataclass(frozen=True)
class Verdict:
    entity: str
    confidence: float


_PATTERNS = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), 0.95),
    ("credit_card", re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)"), 0.9),
    ("us_ssn", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"), 0.85),
    ("phone", re.compile(r"\(?(?<!\d)\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)"), 0.8),
)


class RegexDetector:
    """Finds e-mails, Luhn-valid card numbers, SSNs and US phone numbers; counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(
        self, text: str, *, entities: frozenset[str] | None, context: str, min_confidence: float
    ) -> list[Hit]:
        self.calls += 1
        hits: list[Hit] = []
        taken: list[tuple[int, int]] = []
        for entity, pattern, confidence in _PATTERNS:
            if entities is not None and entity not in entities:
                continue
            for m in pattern.finditer(text):
                if entity == "credit_card" and not luhn_valid(re.sub(r"\D", "", m.group())):
                    continue
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                hits.append(Hit(entity, m.start(), m.end(), m.group(), confidence))
        return sorted(hits, key=lambda h: h.start)

    def classify(self, name: str, values: Sequence[str], *, min_confidence: float) -> list[Verdict]:
        counts: dict[str, int] = {}
        for value in values:
            for hit in self.detect(value, entities=None, context=name, min_confidence=0):
                if hit.start == 0 and hit.end == len(value):
                    counts[hit.entity] = counts.get(hit.entity, 0) + 1
        found = [Verdict(e, n / len(values)) for e, n in counts.items()] if values else []
        return [v for v in found if v.confidence >= min_confidence]
