"""What the ledger and the monitor keep of served traffic.

:func:`summarise` turns one request into a small JSON-able record (no raw inputs, so the
ledger never holds personal data from requests); :class:`TrafficTally` gives the same record
for many requests at once, gathering their arrays cheaply and summarising them together
(vectorised) only when asked; :class:`WindowBuffer` keeps the most recent rows in memory for
the drift and output monitors, also appending cheaply and copying rows into its ring in
batches.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.gateway.prediction import Label, Prediction

MAX_SUMMARY_FEATURES = 32
MAX_SUMMARY_LABELS = 32
TALLY_FOLD_ROWS = 65_536
"""A tally summarises what it gathered once this many rows wait (bounds its memory)."""
WINDOW_MERGE_ITEMS = 256
"""A window copies pending requests into its ring once this many wait."""


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarise(inputs: npt.NDArray[Any], prediction: Prediction) -> dict[str, Any]:
    """Rows, per-feature min/mean/max (first 32 features, NaN ignored), the label histogram
    (the 32 most frequent labels, the rest counted as ``other``) and the mean top score."""
    tally = TrafficTally()
    tally.add(inputs, prediction)
    return tally.summary()


class TrafficTally:
    """The traffic summary of many requests, as :func:`summarise` would give for all their
    rows at once.

    :meth:`add` only remembers the request's arrays (a couple of list appends); the
    statistics are computed over everything gathered, in one vectorised pass, when
    :meth:`summary` is called or ``TALLY_FOLD_ROWS`` rows wait. Not thread-safe: its owner
    serialises calls.
    """

    __slots__ = (
        "_count",
        "_high",
        "_label_counts",
        "_low",
        "_pending",
        "_pending_rows",
        "_rows",
        "_sum",
        "_top_count",
        "_top_sum",
        "_width",
    )

    def __init__(self) -> None:
        self._pending: list[tuple[npt.NDArray[Any], Prediction]] = []
        self._pending_rows = 0
        self._rows = 0
        self._width: int | None = None
        self._low: npt.NDArray[np.float64] | None = None
        self._high: npt.NDArray[np.float64] | None = None
        self._sum: npt.NDArray[np.float64] | None = None
        self._count: npt.NDArray[np.int64] | None = None
        self._label_counts: Counter[str] = Counter()
        self._top_sum = 0.0
        self._top_count = 0

    @property
    def rows(self) -> int:
        """Rows added so far."""
        return self._rows + self._pending_rows

    def add(self, inputs: npt.NDArray[Any], prediction: Prediction) -> None:
        """Count one request's rows (``inputs`` as validated, ``prediction`` as answered)."""
        rows = int(inputs.shape[0]) if inputs.ndim else 0
        self._pending.append((inputs, prediction))
        self._pending_rows += rows
        if self._pending_rows >= TALLY_FOLD_ROWS:
            self._fold()

    def _fold(self) -> None:
        pending, self._pending = self._pending, []
        self._pending_rows = 0
        by_width: dict[int, list[npt.NDArray[np.float64]]] = {}
        for inputs, _prediction in pending:
            array = np.asarray(inputs, dtype=np.float64)
            if array.ndim == 0:
                continue
            rows = int(array.shape[0])
            flat = array.reshape(rows, math.prod(array.shape[1:]))
            by_width.setdefault(int(flat.shape[1]), []).append(flat)
        for width, parts in by_width.items():
            self._fold_rows(width, parts[0] if len(parts) == 1 else np.concatenate(parts))
        labels: Iterable[Label] = chain.from_iterable(p.labels for _i, p in pending)
        self._label_counts.update(map(str, labels))
        tops = [max(row) for _i, p in pending for row in p.scores or () if row]
        self._top_sum += math.fsum(tops)
        self._top_count += len(tops)

    def _fold_rows(self, width: int, flat: npt.NDArray[np.float64]) -> None:
        self._rows += int(flat.shape[0])
        if self._width is None:
            self._width = width
        elif width != self._width:
            return  # one width per tally is described (a tally is one model version's)
        shown = flat[:, :MAX_SUMMARY_FEATURES]
        finite = np.isfinite(shown)
        low = np.where(finite, shown, np.inf).min(axis=0, initial=np.inf)
        high = np.where(finite, shown, -np.inf).max(axis=0, initial=-np.inf)
        total = np.where(finite, shown, 0.0).sum(axis=0)
        count = finite.sum(axis=0)
        if self._low is None or self._high is None or self._sum is None or self._count is None:
            self._low, self._high, self._sum, self._count = low, high, total, count
            return
        self._low = np.minimum(self._low, low)
        self._high = np.maximum(self._high, high)
        self._sum = self._sum + total
        self._count = self._count + count

    def summary(self) -> dict[str, Any]:
        """The JSON-able summary of every row added (the layout of :func:`summarise`)."""
        if self._pending:
            self._fold()
        features: list[dict[str, float | None]] = []
        if self._low is not None and self._high is not None:
            assert self._sum is not None and self._count is not None
            for low, high, total, count in zip(
                self._low.tolist(),
                self._high.tolist(),
                self._sum.tolist(),
                self._count.tolist(),
                strict=True,
            ):
                if count:
                    mean = min(max(total / count, low), high)  # rounding stays in range
                    features.append(
                        {"min": _number(low), "mean": _number(mean), "max": _number(high)}
                    )
                else:
                    features.append({"min": None, "mean": None, "max": None})
        histogram = dict(self._label_counts.most_common(MAX_SUMMARY_LABELS))
        other = sum(self._label_counts.values()) - sum(histogram.values())
        if other:
            histogram["other"] = histogram.get("other", 0) + other
        top = _number(self._top_sum / self._top_count) if self._top_count else None
        return {
            "rows": self._rows,
            "features_total": self._width or 0,
            "features": features,
            "labels": histogram,
            "mean_top_score": top,
        }


class WindowBuffer:
    """A ring of the most recent input rows and output scores of one model; thread-safe.

    At most ``capacity_rows`` rows are kept, fewer for wide rows, so that one buffer never
    holds more than ``max_elements`` numbers (by default 4 Mi, 32 MiB of float64).

    :meth:`add` checks the request's shapes and queues its arrays; they are copied into the
    ring in one vectorised step once ``WINDOW_MERGE_ITEMS`` requests (or a ring's worth of
    rows) wait, and before every read, so readers always see every row added.
    """

    def __init__(self, capacity_rows: int = 5000, *, max_elements: int = 1 << 22) -> None:
        if capacity_rows < 1 or max_elements < 1:
            raise ValueError("capacity_rows and max_elements must be positive")
        self._capacity_rows = capacity_rows
        self._max_elements = max_elements
        self._lock = threading.Lock()
        self._inputs: npt.NDArray[np.float64] | None = None
        self._scores: npt.NDArray[np.float64] | None = None
        self._row_shape: tuple[int, ...] | None = None
        self._score_width: int | None = None
        self._pending: list[tuple[npt.NDArray[np.float64], list[list[float]] | None]] = []
        self._pending_rows = 0
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        capacity = self._capacity_rows if self._inputs is None else len(self._inputs)
        return min(self._count + self._pending_rows, capacity)

    @property
    def capacity(self) -> int:
        """Rows kept (known once the first rows arrive; until then ``capacity_rows``)."""
        return self._capacity_rows if self._inputs is None else len(self._inputs)

    def add(self, inputs: npt.NDArray[Any], prediction: Prediction) -> None:
        """Append a request's rows and, when the model gave them, its scores."""
        rows = np.asarray(inputs, dtype=np.float64)
        if rows.ndim < 1 or len(rows) == 0:
            return
        scores = prediction.scores
        if scores is not None and len(scores) != len(rows):
            raise ValueError(f"{len(rows)} rows but {len(scores)} rows of scores")
        with self._lock:
            if self._row_shape is None:
                self._allocate(rows, scores)
            if rows.shape[1:] != self._row_shape:
                raise ValueError(f"rows of shape {rows.shape[1:]}, expected {self._row_shape}")
            if (scores is None) != (self._score_width is None):
                raise ValueError("the model's scores changed shape; use a new buffer per model")
            if scores is not None:
                for row in scores:
                    if len(row) != self._score_width:
                        raise ValueError("the model's scores changed shape; use a new buffer")
            self._pending.append((rows, scores))
            self._pending_rows += len(rows)
            ring = self._inputs
            if len(self._pending) >= WINDOW_MERGE_ITEMS or (
                ring is not None and self._pending_rows >= len(ring)
            ):
                self._merge()

    def _allocate(self, rows: npt.NDArray[np.float64], scores: list[list[float]] | None) -> None:
        """The ring, sized on the first rows: the shapes every later request must have."""
        width = max(1, math.prod(rows.shape[1:]))
        capacity = max(1, min(self._capacity_rows, self._max_elements // width))
        self._row_shape = tuple(rows.shape[1:])
        self._inputs = np.empty((capacity, *self._row_shape), dtype=np.float64)
        if scores is not None:
            self._score_width = len(scores[0])
            self._scores = np.empty((capacity, self._score_width), dtype=np.float64)

    def _merge(self) -> None:
        """Copy the pending rows (and scores) into the ring; the caller holds the lock."""
        pending, self._pending = self._pending, []
        self._pending_rows = 0
        if not pending or self._inputs is None:
            return
        kept = self._inputs
        capacity = len(kept)
        rows = pending[0][0] if len(pending) == 1 else np.concatenate([r for r, _s in pending])
        n = min(len(rows), capacity)
        positions = (self._next + np.arange(n)) % capacity
        kept[positions] = rows[-n:]
        if self._scores is not None:
            tail: list[list[float]] = []
            for _rows, scores in reversed(pending):
                assert scores is not None
                tail[:0] = scores[-(n - len(tail)) :]
                if len(tail) >= n:
                    break
            self._scores[positions] = np.asarray(tail, dtype=np.float64).reshape(n, -1)
        self._next = int((self._next + n) % capacity)
        self._count = min(self._count + n, capacity)

    def snapshot(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
        """Copies of the kept rows and scores, oldest first; scores are None when the model
        gives none. Empty arrays before the first request."""
        with self._lock:
            self._merge()
            if self._inputs is None:
                return np.empty((0,), dtype=np.float64), None
            capacity = len(self._inputs)
            order = (self._next - self._count + np.arange(self._count)) % capacity
            inputs = self._inputs[order]
            scores = self._scores[order] if self._scores is not None else None
        return inputs, scores
