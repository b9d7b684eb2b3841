"""Two-sample tests, p-value combination and multiple-test corrections used by the drift
checks.

Each test returns a statistic and a p-value that is valid (at most its nominal level on
data from the reference distribution); :func:`cauchy_combination` merges the dependent
p-values of one feature into one valid p-value, and the corrections below give a
window-level false-alarm rate of at most ``alpha``. All functions are vectorised NumPy;
none allocate more than a few copies of their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped,unused-ignore]

Correction = Literal["holm", "bonferroni", "bh"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bonferroni", "bh")

FloatArray = npt.NDArray[np.float64]

CAUCHY_TOP = 0.01
"""p-values are capped at ``1 - CAUCHY_TOP`` in :func:`cauchy_combination`."""


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


def mid_ranks(reference_sorted: FloatArray, values: FloatArray) -> FloatArray:
    """The reference's mid-ECDF at ``values``, minus 1/2 (ties count half)."""
    below = np.searchsorted(reference_sorted, values, side="left")
    upto = np.searchsorted(reference_sorted, values, side="right")
    return np.asarray((below + upto) / (2.0 * reference_sorted.shape[0]) - 0.5)


def rank_null(reference_sorted: FloatArray) -> FloatArray:
    """Null mean and variance of the rank scores ``c = mid-ECDF - 1/2`` and ``c**2`` for
    :func:`rank_location_scale`: ``[mean c, mean c^2, var c, var c^2]`` over the
    reference's own order statistics (exact for ties; 1/12-style constants are not)."""
    c = mid_ranks(reference_sorted, reference_sorted)
    c2 = c * c
    return np.array([c.mean(), c2.mean(), c.var(), c2.var()])


def rank_location_scale(
    reference_sorted: FloatArray,
    n_reference: int,
    window: FloatArray,
    null: FloatArray | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Rank tests of location and of scale of ``window`` against a reference ECDF.

    Each window value is mapped to its mid-ECDF under the reference (the probability
    integral transform; ties count half), centred: ``c``. With no drift ``c`` has the same
    law as for a reference value, so the window means of ``c`` (Wilcoxon-Mann-Whitney:
    location) and of ``c**2`` (Mood: scale and tails) are compared with their null mean
    and variance over the reference's order statistics (``null``, from :func:`rank_null`;
    computed here when not given). Both the window's and the reference's sampling errors
    count: the variance is ``Var(score) * (1/n + 1/m)`` (exact for the location score,
    first order for the scale score). The two-sided normal p-values are distribution-free
    and robust to heavy tails and, for a change of location or scale, more powerful than
    KS, whose supremum spreads its power over every kind of change. Returns
    ``((z_location, p), (z_scale, p))``.
    """
    n = window.shape[0]
    if n == 0 or reference_sorted.shape[0] < 2 or n_reference < 2:
        return (0.0, 1.0), (0.0, 1.0)
    moments = rank_null(reference_sorted) if null is None else null
    # Sorted keys make the binary searches cache-friendly (twice as fast); means ignore order.
    c = mid_ranks(reference_sorted, np.sort(window))
    factor = 1.0 / n + 1.0 / n_reference
    out: list[tuple[float, float]] = []
    for value, mean, variance in (
        (float(c.mean()), moments[0], moments[2]),
        (float(np.dot(c, c)) / n, moments[1], moments[3]),
    ):
        if variance <= 1e-15:  # a constant reference: no ranks to compare
            out.append((0.0, 1.0))
            continue
        z = (value - float(mean)) / math.sqrt(float(variance) * factor)
        out.append((z, float(2.0 * special.ndtr(-abs(z)))))
    return out[0], out[1]


def cauchy_combination(p_values: Sequence[float]) -> float:
    """One p-value from several dependent p-values of the same hypothesis (Liu & Xie's
    Cauchy combination, 2020).

    ``mean(tan((1/2 - p_i) * pi))`` is standard Cauchy when the p-values are uniform, for
    any correlation between Gaussian-based statistics, and its tail stays accurate at the
    small levels a multiple-test correction asks for. Unlike Bonferroni within the group,
    tests that agree reinforce each other (the result is close to the harmonic mean of
    the p-values), while one clear rejection costs about a factor of the group size.
    p-values above ``1 - CAUCHY_TOP`` are truncated there: a test with nothing to say
    (p = 1) would otherwise contribute minus infinity and mask the others.
    """
    if len(p_values) == 0:
        return 1.0
    if len(p_values) == 1:
        return min(1.0, max(0.0, float(p_values[0])))
    total = 0.0
    for value in p_values:
        p = min(max(float(value), 1e-300), 1.0 - CAUCHY_TOP)
        # tan((1/2 - p) pi) = 1 / tan(p pi): for tiny p, 1 / (p pi) without round-off.
        total += 1.0 / (math.pi * p) if p < 1e-15 else 1.0 / math.tan(math.pi * p)
    statistic = total / len(p_values)
    if statistic > 1e15:
        return 1.0 / (math.pi * statistic)
    return min(1.0, max(0.0, 0.5 - math.atan(statistic) / math.pi))


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
