"""Tests on model outputs: prediction-distribution shift and confidence collapse.

Shared by :class:`~mlwarden.monitor.output_check.OutputShiftCheck` (a window of
probabilities) and :class:`~mlwarden.monitor.drift_check.DriftCheck` (a window of inputs
plus a model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlwarden.monitor.output_profile import OutputProfile, top_two
from mlwarden.monitor.stat_tests import chi2_two_sample, ks_two_sample

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OutputTest:
    """One test on the outputs of a window."""

    key: str
    """``<prediction>`` (class frequencies) or ``<confidence>`` (top-class probability)."""
    statistic: float
    p_value: float
    window_value: float
    """Window's top-class mean confidence, or its largest class-share change."""
    reference_value: float


def output_tests(profile: OutputProfile, probabilities: FloatArray) -> list[OutputTest]:
    """Chi-squared on predicted-class counts; KS on top-class confidence."""
    predicted, top, _ = top_two(probabilities)
    k = profile.class_counts.shape[0]
    counts = np.bincount(np.clip(predicted, 0, k - 1), minlength=k).astype(np.float64)
    chi2, chi2_p = chi2_two_sample(profile.class_counts, counts)
    share_change = float(
        np.max(np.abs(counts / counts.sum() - profile.class_counts / profile.class_counts.sum()))
    )
    distance, ks_p = ks_two_sample(profile.confidence, profile.n, top)
    return [
        OutputTest("<prediction>", chi2, chi2_p, share_change, 0.0),
        OutputTest(
            "<confidence>",
            distance,
            ks_p,
            float(top.mean()),
            float(profile.confidence.mean()),
        ),
    ]
