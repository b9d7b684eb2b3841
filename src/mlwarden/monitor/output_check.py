"""``OutputShiftCheck``: prediction-distribution shift and confidence collapse from a
window of model probabilities (as a serving gateway logs them), no model needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.findings import Rule
from mlwarden.ml.base import CheckResult, Dataset
from mlwarden.monitor import rules
from mlwarden.monitor.drift_check import output_rows, result_from_rows
from mlwarden.monitor.output_profile import check_probabilities
from mlwarden.monitor.profile import ReferenceProfile
from mlwarden.monitor.stat_tests import Correction


@dataclass(frozen=True)
class OutputShiftCheck:
    """Test a window whose ``X`` is the model's (n, n_classes) probabilities against the
    outputs recorded in the profile (``ReferenceProfile.fit(..., probabilities=...)``).
    ``alpha`` is the window-level false-alarm rate over both tests."""

    profile: ReferenceProfile
    alpha: float = 0.05
    correction: Correction = "holm"

    def __post_init__(self) -> None:
        if self.profile.outputs is None:
            raise UsageError(
                "profile",
                "holds no model outputs",
                "fit it with ReferenceProfile.fit(data, probabilities=model.predict_proba(X))",
            )

    @property
    def name(self) -> str:
        return "output-shift"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (rules.PREDICTION_SHIFT, rules.CONFIDENCE_COLLAPSE)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Test the probabilities in ``data.X``; ``model`` is not used."""
        assert self.profile.outputs is not None
        probabilities = np.asarray(data.flat(), dtype=np.float64)
        check_probabilities(probabilities, None, data.source)
        if probabilities.shape[1] != self.profile.outputs.class_counts.shape[0]:
            raise UsageError(
                data.source,
                f"{probabilities.shape[1]} classes, the profile has "
                f"{self.profile.outputs.class_counts.shape[0]}",
                "pass outputs of the same model",
            )
        rows = output_rows(self.profile.outputs, probabilities)
        return result_from_rows(self.name, data, rows, self.alpha, self.correction)
