"""Masking of structured records (table rows, JSON objects, Parquet rows).

A record is a tree of Python values: mappings, lists, and leaves (text, numbers, dates...).
Every leaf has a column path: the mapping keys from the root joined by dots (list elements
share their list's path). For each leaf, in order of precedence:

1. a column rule on the path or an enclosing path applies to the leaf (``drop`` removes the
   subtree, ``keep`` leaves it, any other operator replaces the leaf by text);
2. a column whose first sampled values are mostly one entity, whole (a column of e-mail
   addresses, not of notes that mention them), gets that entity's operator on every value;
3. any other text leaf is searched for entities and each hit is replaced.

Numbers and other non-text leaves are changed only by steps 1 and 2 (a number cannot hold a
partial entity, and leaving its type alone keeps typed formats such as Parquet stable).
Mapping keys are searched for entities too: a key can be an e-mail address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from mlwarden.masking.detection import Detector
from mlwarden.masking.operators import Keep, MaskOperator
from mlwarden.masking.plan import ColumnAction, MaskPlan
from mlwarden.masking.summary import Tally
from mlwarden.masking.text_masking import TextMasker

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in one record."""
SAMPLE_PER_COLUMN = 200
_WHOLE_VALUE_SHARE = 0.8
MAX_SAMPLED_COLUMNS = 10_000


class _Dropped:
    def __repr__(self) -> str:
        return "DROPPED"


DROPPED: Final = _Dropped()
"""Returned by :meth:`RecordMasker.mask_value` for a value whose column is dropped."""


class RecordShapeError(ValueError):
    """A record is nested deeper than :data:`MAX_DEPTH`."""


def join_path(parent: str, key: str) -> str:
    """The column path of ``key`` inside the mapping at ``parent``."""
    return f"{parent}.{key}" if parent else key


def as_text(value: Any) -> str:
    """The text an operator sees for a leaf value (JSON spelling for booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


class RecordMasker:
    """Applies a :class:`MaskPlan` to records; one instance per input file."""

    def __init__(
        self, plan: MaskPlan, detector: Detector | None, tally: Tally, *, cache_entries: int = 8192
    ) -> None:
        self.plan = plan
        self.text = TextMasker(plan, detector, tally, cache_entries=cache_entries)
        self.tally = tally
        self._detector = detector
        self._classified: dict[str, tuple[str, MaskOperator]] = {}
        self._decided: set[str] = set()

    # -- decisions per column -------------------------------------------------------------

    def rule(self, path: str, inherited: ColumnAction | None = None) -> ColumnAction | None:
        """The column-rule action for ``path`` (an enclosing path's rule wins)."""
        return inherited or self.plan.column_action(path)

    def classified_operator(self, path: str) -> MaskOperator | None:
        """The operator applied to whole values of ``path`` because of its classification."""
        found = self._classified.get(path)
        return found[1] if found else None

    def classify(self, samples: Mapping[str, Sequence[str]]) -> None:
        """Decide, once per path, whether a column is wholly one entity (from its sample)."""
        settings = self.plan.detection
        for path, values in samples.items():
            if path in self._decided:
                continue
            self._decided.add(path)
            if self._detector is None or not settings.enabled or not settings.classify_columns:
                continue
            if not values or self.plan.column_action(path) is not None:
                continue
            verdicts = [
                v
                for v in self._detector.classify(
                    path, values, min_confidence=settings.min_confidence
                )
                if v.confidence >= settings.min_confidence
                and (settings.entities is None or v.entity in settings.entities)
            ]
            if not verdicts:
                continue
            best = max(verdicts, key=lambda v: v.confidence)
            if not self._holds_whole_values(path, values, best.entity):
                continue  # free text that mentions the entity: detection masks the mentions
            operator = self.plan.entity_operator(best.entity)
            if not isinstance(operator, Keep):
                self._classified[path] = (best.entity, operator)
                self.tally.classified[path] = best.entity

    def _holds_whole_values(self, path: str, values: Sequence[str], entity: str) -> bool:
        """True when most sampled values are the entity itself, not text around it.

        Only then is every value of the column replaced whole, including the few the
        detector misses (a mistyped card number in a card column); a notes column where
        most values mention an e-mail address keeps its text.
        """
        assert self._detector is not None
        whole = 0
        for value in values:
            size = len(value.strip())
            hits = self._detector.detect(
                value,
                entities=frozenset({entity}),
                context=path,
                min_confidence=self.plan.detection.min_confidence,
            )
            covered = sum(h.end - h.start for h in hits if h.entity == entity)
            if size and covered >= _WHOLE_VALUE_SHARE * size:
                whole += 1
        return whole * 2 > len(values)

    def sample(self, samples: dict[str, list[str]], path: str, value: Any, depth: int = 0) -> None:
        """Add the text of ``value``'s leaves to ``samples`` (bounded per column and overall)."""
        if depth > MAX_DEPTH:
            raise RecordShapeError(f"nested deeper than {MAX_DEPTH} levels")
        if value is None or self.plan.column_action(path) is not None:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                self.sample(samples, join_path(path, str(key)), item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                self.sample(samples, path, item, depth + 1)
        elif isinstance(value, tuple) and len(value) == 2:
            self.sample(samples, path, value[1], depth + 1)
        elif path not in self._decided:
            bucket = samples.get(path)
            if bucket is None:
                if len(samples) >= MAX_SAMPLED_COLUMNS:
                    return
                bucket = samples[path] = []
            text = as_text(value)
            if len(bucket) < SAMPLE_PER_COLUMN and text.strip():
                bucket.append(text)

    # -- masking ----------------------------------------------------------------------------

    def mask_name(self, name: str) -> str:
        """A column name or mapping key with detected entities masked."""
        return self.text.mask(name)

    def mask_value(
        self, path: str, value: Any, depth: int = 0, inherited: ColumnAction | None = None
    ) -> Any:
        """The masked form of ``value`` found at ``path``, or :data:`DROPPED`."""
        if depth > MAX_DEPTH:
            raise RecordShapeError(f"nested deeper than {MAX_DEPTH} levels")
        action = self.rule(path, inherited)
        if action is not None and action.drop:
            return DROPPED
        if value is None:
            return None
        if isinstance(value, Mapping):
            return self._mask_mapping(path, value, depth, action)
        if isinstance(value, list):
            return [self.mask_value(path, item, depth + 1, action) for item in value]
        if isinstance(value, tuple) and len(value) == 2:  # a Parquet map entry (key, value)
            entry_key = value[0]
            if action is None and isinstance(entry_key, str):
                entry_key = self.mask_name(entry_key)
            return (entry_key, self.mask_value(path, value[1], depth + 1, action))
        if action is not None:
            assert action.operator is not None
            return self._apply(action.operator, value, f"column {path}")
        classified = self._classified.get(path)
        if classified is not None:
            return self._apply(classified[1], value, classified[0])
        if isinstance(value, str):
            return self.text.mask(value, path)
        return value

    def _mask_mapping(
        self, path: str, value: Mapping[Any, Any], depth: int, action: ColumnAction | None
    ) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, item in value.items():
            child = join_path(path, str(key))
            masked = self.mask_value(child, item, depth + 1, action)
            if masked is DROPPED:
                self.tally.dropped[child] = None
                continue
            name = key
            if action is None and isinstance(key, str):
                name = self.mask_name(key)
            while name in out:  # two keys masked to the same token: keep both values
                name = f"{name}#"
            out[name] = masked
        return out

    def _apply(self, operator: MaskOperator, value: Any, target: str) -> Any:
        if isinstance(operator, Keep):
            return value
        text = as_text(value)
        if not text.strip():
            return text
        masked = operator.apply(text)
        if masked != text:
            self.tally.add(target, operator.name)
        return masked
