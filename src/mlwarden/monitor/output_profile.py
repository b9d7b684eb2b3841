"""The model-output part of a reference profile: predicted-class frequencies, the
distribution of top-class confidence, and how often predictions sit near the decision
boundary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError

FloatArray = npt.NDArray[np.float64]

BOUNDARY_MARGIN = 0.1
"""A prediction is near the decision boundary when its top two probabilities differ by
less than this."""
MAX_CLASSES = 10_000


@dataclass(frozen=True)
class OutputProfile:
    """Reference behaviour of the model's probabilities."""

    class_counts: FloatArray
    """Predicted (arg-max) class counts, one per output column."""
    confidence: FloatArray
    """Sorted order statistics of the top-class probability."""
    n: int
    boundary_rate: float
    """Share of reference predictions within :data:`BOUNDARY_MARGIN` of the boundary."""


def check_probabilities(probabilities: FloatArray, n_rows: int | None, source: str) -> None:
    """Raise :class:`UsageError` unless ``probabilities`` is an (n, k>=2) matrix of
    finite values in [0, 1] (with ``n == n_rows`` when given)."""
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise UsageError(
            source,
            f"model outputs have shape {probabilities.shape}, not (rows, classes>=2)",
            "pass predict_proba-style class probabilities",
        )
    if probabilities.shape[1] > MAX_CLASSES:
        raise UsageError(
            source,
            f"model outputs have {probabilities.shape[1]} classes, over {MAX_CLASSES}",
            "monitor the top classes only",
        )
    if n_rows is not None and probabilities.shape[0] != n_rows:
        raise UsageError(
            source,
            f"{probabilities.shape[0]} rows of outputs for {n_rows} rows of data",
            "pass one output row per input row",
        )
    if not np.isfinite(probabilities).all() or probabilities.min() < 0 or probabilities.max() > 1:
        raise UsageError(
            source, "model outputs hold values outside [0, 1]", "pass probabilities, not logits"
        )


def top_two(probabilities: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Predicted class, top-class probability and margin to the runner-up, per row."""
    predicted = np.argmax(probabilities, axis=1)
    part = np.partition(probabilities, -2, axis=1)
    top = part[:, -1]
    return predicted, top, top - part[:, -2]


def fit_outputs(probabilities: FloatArray, n_rows: int, source: str) -> OutputProfile:
    """Summarise reference outputs (one row per reference sample)."""
    check_probabilities(probabilities, n_rows, source)
    predicted, top, margin = top_two(probabilities)
    values = np.sort(top)
    if values.shape[0] > 1_000:
        values = values[np.linspace(0, values.shape[0] - 1, 1_000).round().astype(np.int64)]
    return OutputProfile(
        class_counts=np.bincount(predicted, minlength=probabilities.shape[1]).astype(np.float64),
        confidence=values,
        n=int(probabilities.shape[0]),
        boundary_rate=float(np.mean(margin < BOUNDARY_MARGIN)),
    )
