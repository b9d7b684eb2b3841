"""What the ledger and the monitor keep of served traffic.

:func:`summarise` turns one request into a small JSON-able record (no raw inputs, so the
ledger never holds personal data from requests); :class:`WindowBuffer` keeps the most recent
rows in memory for the drift and output monitors.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.gateway.prediction import Prediction

MAX_SUMMARY_FEATURES = 32
MAX_SUMMARY_LABELS = 32


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarise(inputs: npt.NDArray[Any], prediction: Prediction) -> dict[str, Any]:
    """Rows, per-feature min/mean/max (first 32 features, NaN ignored), the label histogram
    (the 32 most frequent labels, the rest counted as ``other``) and the mean top score."""
    rows = int(inputs.shape[0])
    flat = np.asarray(inputs, dtype=np.float64).reshape(rows, -1)
    shown = flat[:, :MAX_SUMMARY_FEATURES]
    features: list[dict[str, float | None]] = []
    for column in shown.T:
        finite = column[np.isfinite(column)]
        if finite.size:
            low, mean, high = finite.min(), finite.mean(), finite.max()
            features.append({"min": _number(low), "mean": _number(mean), "max": _number(high)})
        else:
            features.append({"min": None, "mean": None, "max": None})
    counts = Counter(str(label) for label in prediction.labels)
    histogram = dict(counts.most_common(MAX_SUMMARY_LABELS))
    other = sum(counts.values()) - sum(histogram.values())
    if other:
        histogram["other"] = histogram.get("other", 0) + other
    tops = [max(row) for row in prediction.scores or [] if row]
    top = _number(float(np.mean(tops))) if tops else None
    return {
        "rows": rows,
        "features_total": int(flat.shape[1]),
        "features": features,
        "labels": histogram,
        "mean_top_score": top,
    }


class WindowBuffer:
    """A ring of the most recent input rows and output scores of one model; thread-safe.

    At most ``capacity_rows`` rows are kept, fewer for wide rows, so that one buffer never
    holds more than ``max_elements`` numbers (by default 4 Mi, 32 MiB of float64).
    """

    def __init__(self, capacity_rows: int = 5000, *, max_elements: int = 1 << 22) -> None:
        if capacity_rows < 1 or max_elements < 1:
            raise ValueError("capacity_rows and max_elements must be positive")
        self._capacity_rows = capacity_rows
        self._max_elements = max_elements
        self._lock = threading.Lock()
        self._inputs: npt.NDArray[np.float64] | None = None
        self._scores: npt.NDArray[np.float64] | None = None
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        """Rows kept (known once the first rows arrive; until then ``capacity_rows``)."""
        return self._capacity_rows if self._inputs is None else len(self._inputs)

    def add(self, inputs: npt.NDArray[Any], prediction: Prediction) -> None:
        """Append a request's rows and, when the model gave them, its scores."""
        rows = np.asarray(inputs, dtype=np.float64)
        if rows.ndim < 1 or len(rows) == 0:
            return
        scores = None
        if prediction.scores is not None:
            scores = np.asarray(prediction.scores, dtype=np.float64)
            if scores.ndim != 2 or len(scores) != len(rows):
                raise ValueError(f"{len(rows)} rows but scores of shape {scores.shape}")
        with self._lock:
            kept = self._ensure(rows, scores)
            capacity = len(kept)
            n = min(len(rows), capacity)
            positions = (self._next + np.arange(n)) % capacity
            kept[positions] = rows[-n:]
            if self._scores is not None and scores is not None:
                self._scores[positions] = scores[-n:]
            self._next = int((self._next + n) % capacity)
            self._count = min(self._count + n, capacity)

    def _ensure(
        self, rows: npt.NDArray[np.float64], scores: npt.NDArray[np.float64] | None
    ) -> npt.NDArray[np.float64]:
        """The input ring, allocated on the first rows; refuses rows of another shape."""
        if self._inputs is None:
            width = max(1, math.prod(rows.shape[1:]))
            capacity = max(1, min(self._capacity_rows, self._max_elements // width))
            self._inputs = np.empty((capacity, *rows.shape[1:]), dtype=np.float64)
            if scores is not None:
                self._scores = np.empty((capacity, scores.shape[1]), dtype=np.float64)
            return self._inputs
        if rows.shape[1:] != self._inputs.shape[1:]:
            raise ValueError(f"rows of shape {rows.shape[1:]}, expected {self._inputs.shape[1:]}")
        if (scores is None) != (self._scores is None) or (
            scores is not None
            and self._scores is not None
            and scores.shape[1:] != self._scores.shape[1:]
        ):
            raise ValueError("the model's scores changed shape; use a new buffer per model")
        return self._inputs

    def snapshot(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
        """Copies of the kept rows and scores, oldest first; scores are None when the model
        gives none. Empty arrays before the first request."""
        with self._lock:
            if self._inputs is None:
                return np.empty((0,), dtype=np.float64), None
            capacity = len(self._inputs)
            order = (self._next - self._count + np.arange(self._count)) % capacity
            inputs = self._inputs[order]
            scores = self._scores[order] if self._scores is not None else None
        return inputs, scores
