"""Detection-driven masking of free text: find entities, replace each with its operator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlwarden.masking.detection import Detector, EntityHit
from mlwarden.masking.plan import MaskPlan
from mlwarden.masking.summary import Tally

_CACHE_MAX_TEXT = 256


@dataclass(frozen=True)
class Replacement:
    """Characters ``start:end`` of a text become ``text``."""

    start: int
    end: int
    text: str
    entity: str
    operator: str


class DetectorError(RuntimeError):
    """The detector returned a span outside the text: masking cannot know what to hide."""


class TextMasker:
    """Masks entities inside strings according to a plan.

    Short texts are cached (categorical columns repeat the same few values), so the detector
    runs once per distinct (column, value) among recent ones.
    """

    def __init__(
        self, plan: MaskPlan, detector: Detector | None, tally: Tally, *, cache_entries: int
    ) -> None:
        self.plan = plan
        self._cache_entries = cache_entries
        self.detector = detector if plan.detection.enabled else None
        self.tally = tally
        self._cache: dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...]]] = {}

    def mask(self, text: str, context: str = "") -> str:
        """``text`` with every entity hit at or above the confidence threshold replaced."""
        if self.detector is None or not text.strip():
            return text
        cacheable = self._cache_entries > 0 and len(text) <= _CACHE_MAX_TEXT
        if cacheable:
            cached = self._cache.get((context, text))
            if cached is not None:
                for entity, operator in cached[1]:
                    self.tally.add(entity, operator)
                return cached[0]
        replacements = self.replacements(text, context)
        masked = apply_replacements(text, replacements)
        for r in replacements:
            self.tally.add(r.entity, r.operator)
        if cacheable:
            if len(self._cache) >= self._cache_entries:
                self._cache.pop(next(iter(self._cache)))
            counted = tuple((r.entity, r.operator) for r in replacements)
            self._cache[(context, text)] = (masked, counted)
        return masked

    def replacements(self, text: str, context: str = "") -> list[Replacement]:
        """The replacements for ``text`` (non-overlapping, in order), without applying them."""
        if self.detector is None:
            return []
        settings = self.plan.detection
        hits = self.detector.detect(
            text,
            entities=settings.entities,
            context=context,
            min_confidence=settings.min_confidence,
        )
        kept = [h for h in hits if h.confidence >= settings.min_confidence]
        out: list[Replacement] = []
        for start, end, hit in _merge_overlaps(kept, len(text)):
            operator = self.plan.entity_operator(hit.entity)
            new = operator.apply(text[start:end])
            if new != text[start:end]:
                out.append(Replacement(start, end, new, hit.entity, operator.name))
        return out


def apply_replacements(text: str, replacements: Sequence[Replacement]) -> str:
    """Apply non-overlapping, ordered replacements to ``text``."""
    if not replacements:
        return text
    parts: list[str] = []
    cursor = 0
    for r in replacements:
        parts.append(text[cursor : r.start])
        parts.append(r.text)
        cursor = r.end
    parts.append(text[cursor:])
    return "".join(parts)


def _merge_overlaps(hits: Sequence[EntityHit], length: int) -> list[tuple[int, int, EntityHit]]:
    """Union overlapping hits into one span, so no detected character escapes masking.

    A merged span takes the entity of its most confident hit (the longest on ties).
    """
    for hit in hits:
        if not 0 <= hit.start < hit.end <= length:
            raise DetectorError(
                f"detector returned span {hit.start}:{hit.end} for a text of {length} characters"
            )
    spans: list[tuple[int, int, EntityHit]] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if spans and hit.start < spans[-1][1]:
            start, end, best = spans[-1]
            if (hit.confidence, hit.end - hit.start) > (best.confidence, best.end - best.start):
                best = hit
            spans[-1] = (start, max(end, hit.end), best)
        else:
            spans.append((hit.start, hit.end, hit))
    return spans
