"""The seam between masking and regulated-data detection.

The engine asks a :class:`Detector` for entity hits in a text and for the data class of a
column. :class:`ScannerDetector` forwards to :mod:`mlwarden.scanners.data.entities`; tests and
other callers may pass any object with the same two methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mlwarden.errors import UsageError


class EntityHit(Protocol):
    """An entity found in a text (``mlwarden.scanners.data.entities.EntityMatch`` fits)."""

    @property
    def entity(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def confidence(self) -> float: ...


class ColumnVerdict(Protocol):
    """A data class found in a column (``...entities.ColumnClass`` fits)."""

    @property
    def entity(self) -> str: ...
    @property
    def confidence(self) -> float: ...


class Detector(Protocol):
    """Finds regulated data; must be pure (no state carried between calls)."""

    def detect(
        self, text: str, *, entities: frozenset[str] | None, context: str, min_confidence: float
    ) -> Sequence[EntityHit]:
        """Entity hits in ``text`` at or above ``min_confidence``, limited to ``entities``
        (None: all); ``context`` is the column path, or "" for plain text."""
        ...

    def classify(
        self, name: str, values: Sequence[str], *, min_confidence: float
    ) -> Sequence[ColumnVerdict]:
        """Data classes of a column called ``name`` from a sample of its values."""
        ...


class ScannerDetector:
    """The detector of :mod:`mlwarden.scanners.data.entities`, imported on first use."""

    def __init__(self) -> None:
        """Import the detector; raise :class:`UsageError` if it cannot be imported."""
        try:
            from mlwarden.scanners.data import entities as module
        except ImportError as exc:
            raise UsageError(
                "detection",
                f"the regulated-data detector cannot be imported ({exc})",
                "set 'detection: {enabled: false}' in the policy to mask named columns only",
            ) from None
        self._module: Any = module
        self.known_entities: frozenset[str] = frozenset(module.ALL_ENTITIES)
        """Every entity id the detector can return."""

    def detect(
        self, text: str, *, entities: frozenset[str] | None, context: str, min_confidence: float
    ) -> Sequence[EntityHit]:
        hits: Sequence[EntityHit] = self._module.detect_text(
            text, entities=entities, context=context, min_confidence=min_confidence
        )
        return hits

    def classify(
        self, name: str, values: Sequence[str], *, min_confidence: float
    ) -> Sequence[ColumnVerdict]:
        verdicts: Sequence[ColumnVerdict] = self._module.classify_column(
            name, values, min_confidence=min_confidence
        )
        return verdicts
