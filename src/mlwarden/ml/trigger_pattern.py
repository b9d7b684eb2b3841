"""Input-space evidence of a stamped trigger: a shared, constant feature shift.

A dirty-label backdoor takes samples of other classes, stamps one pattern on them (a patch of
pixels, a few feature values) and gives them the target label. Apart from the pattern, each
poisoned sample still looks like its source class, so its difference from its nearest
neighbours *of other classes* is the pattern itself: the same shift, on the same features,
for every poisoned sample. Clean sub-populations (a writing style, a second cluster of a
class) differ from other classes in varied ways, so no single feature shifts consistently.

:func:`shift_effects` measures that consistency for a group of rows: per feature, the mean
of the residuals over their spread (a t-like effect size, size-independent).
:func:`refine_group` turns a rough seed (from the model's representation) into the rows
that carry the group's strongest shared shift, and reports the mean effect over its top
features. The caller compares that strength across classes, which gives it a calibrated
null.
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
MAX_PATTERN_VALUES = 20_000_000
"""Largest input (rows x width) searched; residuals are held in memory (160 MB at this size)."""
NEIGHBOURS = 3
"""Other-class neighbours averaged into the residual (smooths single-neighbour noise)."""
TOP_FEATURES = 3
"""Features whose shifts define a group and its evidence (a trigger spans at least a few)."""
MIN_CARRIERS = 8
"""Fewest rows sharing a shift that count as evidence (fewer: chance agreement)."""
UNIT_SPREAD = 10.0
"""Columns whose spreads differ by more than this factor are standardised before the search."""
SPREAD_FLOOR = 0.25
"""Share of a feature's overall spread added to the group's spread: a feature constant
in the group (a background pixel) must not divide by zero."""


@dataclass(frozen=True)
class ShiftEvidence:
    """How consistently a group of rows differs from its nearest other-class neighbours."""

    strength: float
    """Mean over the top features of |mean residual| / (residual spread + floor)."""
    features: tuple[int, ...]
    """Flattened feature indices with the strongest shifts, strongest first."""


def pattern_space(flat: npt.NDArray[Any]) -> npt.NDArray[np.float64] | None:
    """The flattened input as floats if a shared shift can be searched in it, else ``None``
    (non-numeric, non-finite, wider than :data:`MAX_PATTERN_WIDTH` or larger than
    :data:`MAX_PATTERN_VALUES`)."""
    if flat.ndim != 2 or flat.shape[1] > MAX_PATTERN_WIDTH or flat.size > MAX_PATTERN_VALUES:
        return None
    if not np.issubdtype(flat.dtype, np.number):
        return None
    out = np.asarray(flat, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        return None
    # Pixels share a unit; table columns often do not (age next to income). Columns whose
    # spreads differ by more than UNIT_SPREAD are put on one unit first.
    sd = out.std(axis=0)
    live = sd[sd > 0]
    if live.size and float(live.max()) > UNIT_SPREAD * float(np.median(live)):
        out = (out - out.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return out


def class_residuals(
    X: npt.NDArray[np.float64],
    labels: npt.NDArray[Any],
    rows: npt.NDArray[np.intp],
    rng: np.random.Generator,
    exclude: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Residual of each row in ``rows`` (all of one label) from the mean of its
    :data:`NEIGHBOURS` nearest rows carrying another label (Euclidean, in ``X``), leaving
    out rows marked in ``exclude`` (suspected poison must not stand for a clean class)."""
    from sklearn.neighbors import NearestNeighbors

    reference = labels != labels[rows[0]]
    if exclude is not None:
        reference &= ~exclude
    others = np.flatnonzero(reference)
    if others.size == 0:
        return np.zeros((rows.size, X.shape[1]))
    if others.size > MAX_REFERENCE_ROWS:
        others = np.sort(rng.choice(others, MAX_REFERENCE_ROWS, replace=False))
    k = min(NEIGHBOURS, others.size)
    _, nbrs = NearestNeighbors(n_neighbors=k).fit(X[others]).kneighbors(X[rows])
    return np.asarray(X[rows] - X[others][nbrs].mean(axis=1), dtype=np.float64)


def shift_effects(
    residuals: npt.NDArray[np.float64],
    inside: npt.NDArray[np.bool_],
    scale: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Per feature: how consistently the rows ``inside`` differ from their neighbours beyond
    what the rest of the class does. The part of the group's mean residual beyond the rest's
    (in magnitude: a class lying to one side of its neighbours shifts all its samples alike,
    which is no trigger), over the group's residual spread plus a floor of the feature's
    scale (a constant stamped value has no spread of its own)."""
    group, rest = residuals[inside], residuals[~inside]
    shift = np.clip(np.abs(group.mean(axis=0)) - np.abs(rest.mean(axis=0)), 0.0, None)
    return np.asarray(shift / (group.std(axis=0) + SPREAD_FLOOR * scale), dtype=np.float64)


def refine_group(
    residuals: npt.NDArray[np.float64],
    seed: npt.NDArray[np.bool_],
    scale: npt.NDArray[np.float64],
    *,
    top: int = TOP_FEATURES,
    min_rows: int = MIN_CARRIERS,
    rounds: int = 8,
) -> tuple[npt.NDArray[np.bool_], ShiftEvidence]:
    """Grow or shrink ``seed`` (a mask over the class's rows) to the rows carrying its
    strongest shared shift: find the ``top`` features the group shifts most consistently,
    move every row to whichever of the two means (group, rest) its residuals on those
    features are nearer, and repeat until stable. A seed holding part of the poison plus
    some clean rows thus ends as the rows that carry the pattern. The evidence is the mean
    effect over those features; fewer than ``min_rows`` carriers give none."""
    inside = seed.copy()
    for _ in range(rounds):
        if inside.sum() < 2 or (~inside).sum() < 2:
            return inside, ShiftEvidence(0.0, ())
        feats = np.argsort(-shift_effects(residuals, inside, scale), kind="stable")[:top]
        part = residuals[:, feats] / scale[feats]
        near_group = ((part - part[inside].mean(axis=0)) ** 2).sum(axis=1)
        near_rest = ((part - part[~inside].mean(axis=0)) ** 2).sum(axis=1)
        moved = near_group < near_rest
        if np.array_equal(moved, inside):
            break
        inside = moved
    if inside.sum() < max(min_rows, 2) or (~inside).sum() < 2:
        return inside, ShiftEvidence(0.0, ())
    effect = shift_effects(residuals, inside, scale)
    order = np.argsort(-effect, kind="stable")[: max(top, 5)]
    return inside, ShiftEvidence(float(effect[order[:top]].mean()), tuple(int(j) for j in order))


def strongest_group(
    residuals: npt.NDArray[np.float64],
    seeds: list[npt.NDArray[np.bool_]],
    scale: npt.NDArray[np.float64],
    top: int = TOP_FEATURES,
) -> tuple[npt.NDArray[np.bool_], ShiftEvidence]:
    """The refined group (see :func:`refine_group`, over ``top`` features) with the
    strongest evidence over ``seeds``; no rows and no evidence when none holds a shared
    shift."""
    best = (np.zeros(residuals.shape[0], dtype=bool), ShiftEvidence(0.0, ()))
    for seed in seeds:
        inside, evidence = refine_group(residuals, seed, scale, top=top)
        if evidence.strength > best[1].strength:
            best = (inside, evidence)
    return best


def feature_scale(X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-feature spread, floored at the median feature's: a feature almost constant in
    the data (a pixel inked in a handful of images) would otherwise turn a tiny, chance
    agreement of a few rows into a large effect. Only meaningful when features share a
    unit, which :func:`pattern_space` ensures."""
    sd = X.std(axis=0)
    typical = float(np.median(sd[sd > 0])) if np.any(sd > 0) else 1.0
    return np.asarray(np.maximum(sd, max(typical, 1e-12)), dtype=np.float64)
