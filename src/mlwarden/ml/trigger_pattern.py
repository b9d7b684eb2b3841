"""Input-space evidence of a stamped trigger: a shared, constant feature shift.

A dirty-label backdoor takes samples of other classes, stamps one pattern on them (a patch of
pixels, a few feature values) and gives them the target label. Apart from the pattern, each
poisoned sample still looks like its source class, so its difference from its nearest
neighbours *of other classes* is the pattern itself: the same shift, on the same features,
for every poisoned sample. Clean sub-populations (a writing style, a second cluster of a
class) differ from other classes in varied ways, so no single feature shifts consistently.

:func:`shift_strength` measures that consistency for a group of rows: per feature, the mean
of the residuals over their spread (a t-like effect size, size-independent), maximised over
features. It is compared across classes by the caller, which gives it a calibrated null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_PATTERN_WIDTH = 4096
"""Widest flattened input searched for a shared shift (wider inputs: no pattern evidence)."""
MAX_REFERENCE_ROWS = 5000
"""Other-class rows searched for neighbours (a deterministic sample beyond this)."""
MAX_QUERY_ROWS = 1000
"""Rows of one group whose residuals are averaged (a deterministic sample beyond this)."""
NEIGHBOURS = 3
"""Other-class neighbours averaged into the residual (smooths single-neighbour noise)."""
SPREAD_FLOOR = 0.25
"""Share of a feature's overall spread added to the group's spread: a feature constant
in the group (a background pixel) must not divide by zero."""


@dataclass(frozen=True)
class ShiftEvidence:
    """How consistently a group of rows differs from its nearest other-class neighbours."""

    strength: float
    """Largest per-feature |mean residual| / (residual spread + floor)."""
    features: tuple[int, ...]
    """Flattened feature indices with the strongest shifts, strongest first."""


def pattern_space(flat: npt.NDArray[Any]) -> npt.NDArray[np.float64] | None:
    """The flattened input as floats if a shared shift can be searched in it, else ``None``
    (non-numeric, non-finite or wider than :data:`MAX_PATTERN_WIDTH`)."""
    if flat.ndim != 2 or flat.shape[1] > MAX_PATTERN_WIDTH:
        return None
    if not np.issubdtype(flat.dtype, np.number):
        return None
    out = np.asarray(flat, dtype=np.float64)
    return out if np.all(np.isfinite(out)) else None


def class_residuals(
    X: npt.NDArray[np.float64],
    labels: npt.NDArray[Any],
    rows: npt.NDArray[np.intp],
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Residual of each row in ``rows`` (all of one label) from the mean of its
    :data:`NEIGHBOURS` nearest rows carrying another label (Euclidean, in ``X``)."""
    from sklearn.neighbors import NearestNeighbors

    others = np.flatnonzero(labels != labels[rows[0]])
    if others.size == 0:
        return np.zeros((rows.size, X.shape[1]))
    if others.size > MAX_REFERENCE_ROWS:
        others = np.sort(rng.choice(others, MAX_REFERENCE_ROWS, replace=False))
    k = min(NEIGHBOURS, others.size)
    _, nbrs = NearestNeighbors(n_neighbors=k).fit(X[others]).kneighbors(X[rows])
    return np.asarray(X[rows] - X[others][nbrs].mean(axis=1), dtype=np.float64)


def shift_strength(
    residuals: npt.NDArray[np.float64],
    baseline: npt.NDArray[np.float64],
    scale: npt.NDArray[np.float64],
    rng: np.random.Generator,
    *,
    top: int = 5,
) -> ShiftEvidence:
    """Consistency of ``residuals`` (one row per sample) feature by feature, measured from
    ``baseline`` (the mean residual of the rest of the class: a class lying to one side of
    its neighbours shifts all its samples alike, which is no trigger); ``scale`` is each
    feature's spread over the whole data set. Fewer than two rows give no evidence."""
    if residuals.shape[0] < 2:
        return ShiftEvidence(0.0, ())
    if residuals.shape[0] > MAX_QUERY_ROWS:
        residuals = residuals[rng.choice(residuals.shape[0], MAX_QUERY_ROWS, replace=False)]
    # Only the part of the shift beyond the rest of the class counts, in magnitude: a
    # sub-style differing from the rest in sign is not inflated by the subtraction.
    shift = np.clip(np.abs(residuals.mean(axis=0)) - np.abs(baseline), 0.0, None)
    effect = shift / (residuals.std(axis=0) + SPREAD_FLOOR * scale)
    order = np.argsort(-effect, kind="stable")[:top]
    return ShiftEvidence(float(effect[order[0]]), tuple(int(j) for j in order))


def feature_scale(X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-feature spread of the data set, floored so constant features stay finite."""
    sd = X.std(axis=0)
    floor = max(float(np.median(sd[sd > 0])) if np.any(sd > 0) else 1.0, 1e-12) * 1e-3
    return np.asarray(np.maximum(sd, floor), dtype=np.float64)
