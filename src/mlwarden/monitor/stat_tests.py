"""Two-sample tests and multiple-test corrections used by the drift checks.

Each test returns a statistic and a p-value that is valid (at most its nominal level on
data from the reference distribution) so that the corrections below give a window-level
false-alarm rate of at most ``alpha``. All functions are vectorised NumPy; none allocate
more than a few copies of their inputs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped,unused-ignore]

Correction = Literal["holm", "bonferroni", "bh"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bonferroni", "bh")

FloatArray = npt.NDArray[np.float64]


def ks_two_sample(
    reference_sorted: FloatArray, n_reference: int, window: FloatArray
) -> tuple[float, float]:
    """Kolmogorov-Smirnov distance between a reference ECDF and ``window``, and its p-value.

    ``reference_sorted`` holds evenly spaced order statistics of the reference (the whole
    sorted reference when it is small), ``n_reference`` how many values they summarise. The
    p-value is the asymptotic Kolmogorov tail with Stephens' small-sample correction; it is
    conservative when values are tied (discrete features).
    """
    n = window.shape[0]
    if n == 0 or reference_sorted.shape[0] == 0:
        return 0.0, 1.0
    xs = np.sort(window)
    points = np.concatenate((reference_sorted, xs))
    f_ref = np.searchsorted(reference_sorted, points, side="right") / reference_sorted.shape[0]
    f_win = np.searchsorted(xs, points, side="right") / n
    distance = float(np.max(np.abs(f_ref - f_win)))
    en = np.sqrt(n_reference * n / (n_reference + n))
    p_value = float(special.kolmogorov((en + 0.12 + 0.11 / en) * distance))
    return distance, min(1.0, p_value)


def chi2_two_sample(reference_counts: FloatArray, window_counts: FloatArray) -> tuple[float, float]:
    """Pearson chi-squared test of homogeneity for two count vectors over the same bins."""
    keep = (reference_counts + window_counts) > 0
    ref = reference_counts[keep]
    win = window_counts[keep]
    if ref.shape[0] < 2 or win.sum() == 0 or ref.sum() == 0:
        return 0.0, 1.0
    total = ref.sum() + win.sum()
    column = ref + win
    e_ref = column * ref.sum() / total
    e_win = column * win.sum() / total
    statistic = float(np.sum((ref - e_ref) ** 2 / e_ref) + np.sum((win - e_win) ** 2 / e_win))
    return statistic, float(special.chdtrc(ref.shape[0] - 1, statistic))


def psi(reference_counts: FloatArray, window_counts: FloatArray) -> tuple[float, float]:
    """Population stability index over shared bins, and a p-value for it.

    Counts get half a count of smoothing so an empty bin gives a finite index. Near the
    null, ``PSI * n*m/(n+m)`` behaves like Pearson's chi-squared with ``bins - 1`` degrees of
    freedom (PSI is the symmetrised Kullback-Leibler divergence, whose second-order term
    is the chi-squared distance), which gives the p-value.
    """
    k = reference_counts.shape[0]
    m = float(reference_counts.sum())
    n = float(window_counts.sum())
    if k < 2 or m == 0 or n == 0:
        return 0.0, 1.0
    q = (reference_counts + 0.5) / (m + 0.5 * k)
    p = (window_counts + 0.5) / (n + 0.5 * k)
    value = float(np.sum((p - q) * np.log(p / q)))
    return value, float(special.chdtrc(k - 1, value * n * m / (n + m)))


def adjust(p_values: FloatArray, method: Correction) -> FloatArray:
    """Adjusted p-values for a family of tests.

    ``holm`` and ``bonferroni`` control the family-wise error rate; ``bh`` (Benjamini-
    Hochberg) controls the false discovery rate, which equals the family-wise rate when no
    test is truly shifted, so a quiet window still false-alarms at most ``alpha``.
    """
    k = p_values.shape[0]
    if k == 0:
        return p_values.copy()
    if method == "bonferroni":
        return np.asarray(np.minimum(1.0, p_values * k), dtype=np.float64)
    order = np.argsort(p_values, kind="stable")
    ranked = p_values[order]
    if method == "holm":
        adjusted_sorted = np.maximum.accumulate(ranked * (k - np.arange(k)))
    elif method == "bh":
        scaled = ranked * k / np.arange(1, k + 1)
        adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}; choose one of {CORRECTIONS}")
    out = np.empty(k)
    out[order] = np.minimum(1.0, adjusted_sorted)
    return out


def auc_p_value(scores_shifted: FloatArray, scores_reference: FloatArray) -> tuple[float, float]:
    """Held-out AUC of a classifier score and the one-sided Mann-Whitney p-value for it."""
    if scores_shifted.shape[0] == 0 or scores_reference.shape[0] == 0:
        return 0.5, 1.0
    n1, n2 = scores_shifted.shape[0], scores_reference.shape[0]
    combined = np.concatenate((scores_shifted, scores_reference))
    # Average ranks, so tied scores (e.g. a constant feature) count half each way.
    order = np.argsort(combined, kind="stable")
    sorted_scores = combined[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], combined.shape[0]]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(combined.shape[0])
    ranks[order] = np.repeat(average, ends - starts)
    u = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    tie_sizes = (ends - starts).astype(np.float64)
    total = n1 + n2
    variance = (
        n1
        * n2
        / 12.0
        * (total + 1 - float(np.sum(tie_sizes**3 - tie_sizes)) / (total * (total - 1)))
    )
    if variance <= 0:
        return 0.5, 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / np.sqrt(variance)
    return u / (n1 * n2), float(special.ndtr(-z))
