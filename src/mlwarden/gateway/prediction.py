"""What a served model answers, in plain JSON-able Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Label = int | str | float


@dataclass(frozen=True)
class Prediction:
    """One label per input row and, for classifiers, one row of class scores per input row
    (probabilities summing to 1)."""

    labels: list[Label]
    scores: list[list[float]] | None = None


def label_list(labels: npt.ArrayLike) -> list[Label]:
    """NumPy labels as Python ints, floats or strings (bytes decoded)."""
    out: list[Label] = []
    for value in np.asarray(labels).tolist():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, bool):
            value = int(value)
        out.append(value if isinstance(value, int | float | str) else str(value))
    return out


def softmax(logits: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Row-wise softmax, stable for large logits."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: npt.NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return out
