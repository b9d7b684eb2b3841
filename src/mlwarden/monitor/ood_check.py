"""``OutOfDistributionCheck``: per-sample distance from the reference data.

Each row's robust Mahalanobis distance (minimum covariance determinant fitted on the
reference, so a contaminated reference does not hide its own outliers) gets an empirical
p-value against held-out reference rows. The window is flagged when more rows than
``quantile`` predicts lie beyond the reference's ``1 - quantile`` distance (a one-sided
binomial test at ``alpha``); single rows far beyond every reference distance are reported
on their own as possible adversarial or corrupted inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped,unused-ignore]

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.monitor import rules
from mlwarden.monitor.columns import as_numbers
from mlwarden.monitor.drift_check import MAX_WINDOW_ROWS
from mlwarden.monitor.profile import ReferenceProfile

MAX_SAMPLE_FINDINGS = 20
"""At most this many per-sample findings per window (the score table lists all)."""


@dataclass(frozen=True)
class OutOfDistributionCheck:
    """Score each row of a window by its distance from the reference.

    ``quantile``: share of reference rows expected beyond the flag distance (0.01).
    ``extreme_factor``: a row farther than this multiple of the largest held-out reference
    distance is reported by itself. ``alpha``: false-alarm rate of the window-level test.
    """

    profile: ReferenceProfile
    alpha: float = 0.05
    quantile: float = 0.01
    extreme_factor: float = 1.5
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.profile.joint is None:
            raise UsageError(
                "profile",
                "has no multivariate part (fewer than two numeric features)",
                "fit the profile on data with at least two numeric features",
            )
        if not (0 < self.alpha < 1 and 0 < self.quantile < 0.5 and self.extreme_factor >= 1):
            raise UsageError(
                "OutOfDistributionCheck",
                "needs 0 < alpha < 1, 0 < quantile < 0.5 and extreme_factor >= 1",
                "use the defaults (0.05, 0.01, 1.5)",
            )

    @property
    def name(self) -> str:
        return "out-of-distribution"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (rules.OOD_INPUTS, rules.EXTREME_INPUT)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Score every row of ``data``; ``model`` is not used."""
        joint = self.profile.joint
        assert joint is not None
        if not 1 <= data.n_samples <= MAX_WINDOW_ROWS:
            raise UsageError(
                data.source, f"the window has {data.n_samples} rows", f"send 1..{MAX_WINDOW_ROWS}"
            )
        index = {name: i for i, name in enumerate(data.names)}
        X = data.flat()
        columns = []
        for c in joint.columns:
            name = self.profile.features[c].name
            numbers = as_numbers(X[:, index[name]]) if name in index else None
            if numbers is None:
                raise UsageError(
                    data.source,
                    f"numeric feature {name!r} of the reference is missing or not numeric",
                    "send the columns the profile was fitted on",
                )
            columns.append(numbers)
        distances = joint.distances(joint.standardise(np.column_stack(columns)))
        calibration = joint.calibration
        beyond = calibration.shape[0] - np.searchsorted(calibration, distances, side="left")
        p_values = (1.0 + beyond) / (calibration.shape[0] + 1.0)
        threshold = float(np.quantile(calibration, 1.0 - self.quantile))
        flagged = distances > threshold
        k, n = int(flagged.sum()), data.n_samples
        window_p = float(stats.binom.sf(k - 1, n, self.quantile)) if k else 1.0
        extreme_limit = self.extreme_factor * float(calibration.max())
        ids = data.ids
        findings: list[Finding] = []
        if window_p < self.alpha:
            top = np.argsort(-distances)[:10]
            findings.append(
                rules.OOD_INPUTS.finding(
                    Location(path=data.source, field="<rows>"),
                    f"{k} of {n} rows ({k / n:.1%}) lie beyond the reference's "
                    f"{1 - self.quantile:.0%} distance {threshold:.3g}, "
                    f"{self.quantile:.0%} expected (p={window_p:.2g}); farthest rows: "
                    + ", ".join(str(_plain(ids[i])) for i in top),
                )
            )
        extreme = np.flatnonzero(distances > extreme_limit)
        for i in extreme[np.argsort(-distances[extreme])][:MAX_SAMPLE_FINDINGS]:
            findings.append(
                rules.EXTREME_INPUT.finding(
                    Location(path=data.source, line=int(i) + 1, field=f"sample {_plain(ids[i])}"),
                    f"robust distance {distances[i]:.3g}, over {self.extreme_factor}x the "
                    f"largest held-out reference distance {calibration.max():.3g}",
                )
            )
        scores = ScoreTable(
            keys=ids,
            columns={"score": distances, "p_value": p_values, "flagged": flagged.astype(float)},
        )
        metrics = {
            "rows": float(n),
            "flagged": float(k),
            "flagged_share": k / n,
            "expected_share": self.quantile,
            "window_p": window_p,
            "extreme": float(extreme.shape[0]),
        }
        return CheckResult(self.name, tuple(findings), scores, metrics, passed=not findings)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
