"""The validation gate: may this model version replace the previous one?

``ValidationGateCheck(baseline=read_metrics("v1.json")).run(heldout, model)`` measures the
model on labelled held-out data (:mod:`mlwarden.ml.gate_metrics`) and fails when

* accuracy is below ``min_accuracy`` (MLW-GATE-001),
* expected calibration error is above ``max_ece`` (MLW-GATE-002),
* against the previous version (its metrics file, or the previous model measured on the
  same data): accuracy or balanced accuracy dropped by more than ``max_accuracy_drop``,
  any class's recall by more than ``max_recall_drop``, or ECE rose by more than
  ``max_ece_rise`` (MLW-GATE-003).

A baseline measured on other held-out data is reported (MLW-GATE-004) because the
comparison then says little; it does not fail the gate by itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.gate_metrics import GateMetrics, compute_metrics

ACCURACY_BELOW_FLOOR = Rule(
    "MLW-GATE-001",
    "Held-out accuracy below the floor",
    Severity.HIGH,
    "Do not promote this model: retrain or fix the data, or lower the floor if the use "
    "case allows.",
)
CALIBRATION_ABOVE_CEILING = Rule(
    "MLW-GATE-002",
    "Calibration error above the ceiling",
    Severity.MEDIUM,
    "The model's confidence does not match how often it is right: recalibrate it (Platt "
    "or isotonic scaling on held-out data) before its scores drive decisions.",
)
REGRESSION = Rule(
    "MLW-GATE-003",
    "Model regressed against the previous version",
    Severity.HIGH,
    "Keep the previous version: find out why this one scores worse on the same held-out "
    "data (label or data changes, poisoning, a training bug) before promoting it.",
    tags=("AML.T0020", "OWASP-ML02"),
)
BASELINE_DATA_DIFFERS = Rule(
    "MLW-GATE-004",
    "Baseline measured on different held-out data",
    Severity.MEDIUM,
    "Gate every version on the same held-out file, or regenerate the baseline on this "
    "data with --baseline-model.",
)


@dataclass(frozen=True)
class ValidationGateCheck:
    """Floors, ceilings and regression tolerances for promoting a classifier.

    Parameters:
        baseline: the previous version's metrics (``read_metrics``), or None.
        baseline_model: the previous model itself, measured on the same data; give at most
            one of ``baseline`` and ``baseline_model``.
        min_accuracy: accuracy floor (0..1); None disables.
        max_ece: expected-calibration-error ceiling (0..1); None disables.
        max_accuracy_drop: largest allowed drop of accuracy and of balanced accuracy.
        max_recall_drop: largest allowed drop of any single class's recall.
        max_ece_rise: largest allowed rise of ECE.
        n_bins: confidence bins of the ECE.
        data_sha256: digest of the held-out file, compared with the baseline's.

    Scores: one row per class (keys are labels as text): ``recall``, ``baseline_recall``
    (NaN without a baseline) and ``score`` (the recall drop, 0 when it did not drop).
    ``metrics`` holds the model's numbers, the baseline's as ``baseline_*`` and the drops.
    """

    baseline: GateMetrics | None = None
    baseline_model: Any | None = field(default=None, compare=False)
    min_accuracy: float | None = None
    max_ece: float | None = None
    max_accuracy_drop: float = 0.02
    max_recall_drop: float = 0.05
    max_ece_rise: float = 0.05
    n_bins: int = 10
    data_sha256: str | None = None

    @property
    def name(self) -> str:
        return "validation-gate"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (ACCURACY_BELOW_FLOOR, CALIBRATION_ABOVE_CEILING, REGRESSION, BASELINE_DATA_DIFFERS)

    def validate(self) -> None:
        """Refuse contradictory or out-of-range options (UsageError)."""

        def bad(option: str, problem: str, fix: str) -> UsageError:
            return UsageError(f"ValidationGateCheck({option})", problem, fix)

        if self.baseline is not None and self.baseline_model is not None:
            raise bad("baseline", "both a metrics file and a model were given", "give one")
        for option in ("min_accuracy", "max_ece", "max_accuracy_drop", "max_recall_drop"):
            value = getattr(self, option)
            if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
                raise bad(option, f"{value!r} is not a fraction in [0, 1]", "e.g. 0.05")
        if not (math.isfinite(self.max_ece_rise) and 0 <= self.max_ece_rise <= 1):
            raise bad("max_ece_rise", "is not a fraction in [0, 1]", "e.g. 0.05")
        if not 1 <= self.n_bins <= 1000:
            raise bad("n_bins", f"{self.n_bins} bins", "use 10 to 20 bins")

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Measure ``model`` on ``data`` and apply the floor, ceiling and tolerances."""
        self.validate()
        if model is None:
            raise UsageError(data.source, "the validation gate needs a model", "pass model=")
        current = compute_metrics(model, data, n_bins=self.n_bins)
        previous = self.baseline
        if self.baseline_model is not None:
            previous = compute_metrics(
                self.baseline_model, data, n_bins=self.n_bins, described_as="baseline model"
            )
        return self.judge(current, previous, data.source)

    def judge(self, current: GateMetrics, previous: GateMetrics | None, source: str) -> CheckResult:
        """Apply the floor, ceiling and tolerances to metrics already measured on the
        held-out data ``source`` (``run`` measures them first)."""
        self.validate()
        where = Location(path=source)
        findings = self._absolute(current, where)
        if previous is not None:
            findings += self._regressions(current, previous, where)
        return CheckResult(
            self.name,
            tuple(findings),
            _recall_table(current, previous),
            _metrics(current, previous),
            not any(f.rule_id != BASELINE_DATA_DIFFERS.id for f in findings),
        )

    def _absolute(self, current: GateMetrics, where: Location) -> list[Finding]:
        findings: list[Finding] = []
        if self.min_accuracy is not None and current.accuracy < self.min_accuracy:
            findings.append(
                ACCURACY_BELOW_FLOOR.finding(
                    where,
                    f"accuracy {current.accuracy:.4f} on {current.n_samples} samples is below "
                    f"the floor {self.min_accuracy:.4f}",
                )
            )
        if self.max_ece is not None:
            if current.ece is None:
                raise UsageError(
                    where.path,
                    "a calibration ceiling needs probabilities, and the model has no "
                    "predict_proba()",
                    "drop --max-ece, or gate a probabilistic classifier",
                )
            if current.ece > self.max_ece:
                findings.append(
                    CALIBRATION_ABOVE_CEILING.finding(
                        where,
                        f"expected calibration error {current.ece:.4f} ({self.n_bins} bins) is "
                        f"above the ceiling {self.max_ece:.4f}",
                    )
                )
        return findings

    def _regressions(
        self, current: GateMetrics, previous: GateMetrics, where: Location
    ) -> list[Finding]:
        findings: list[Finding] = []
        if (
            self.baseline is not None
            and previous.data_sha256
            and self.data_sha256
            and previous.data_sha256 != self.data_sha256
        ):
            findings.append(
                BASELINE_DATA_DIFFERS.finding(
                    where,
                    f"the baseline was measured on {previous.data or 'other data'} "
                    f"(sha256:{previous.data_sha256[:12]}…), this run on "
                    f"sha256:{self.data_sha256[:12]}…",
                )
            )
        against = previous.model or "the baseline"
        drops: list[str] = []
        for label, now, before in (
            ("accuracy", current.accuracy, previous.accuracy),
            ("balanced accuracy", current.balanced_accuracy, previous.balanced_accuracy),
        ):
            if before - now > self.max_accuracy_drop:
                drops.append(
                    f"{label} {before:.4f} -> {now:.4f} (drop {before - now:.4f} > "
                    f"{self.max_accuracy_drop:.4f})"
                )
        for cls, old in sorted(previous.per_class_recall.items()):
            new = current.per_class_recall.get(cls)
            if new is not None and old - new > self.max_recall_drop:
                drops.append(
                    f"recall of class {cls!r} {old:.4f} -> {new:.4f} (drop "
                    f"{old - new:.4f} > {self.max_recall_drop:.4f})"
                )
        if (
            current.ece is not None
            and previous.ece is not None
            and current.ece - previous.ece > self.max_ece_rise
        ):
            drops.append(
                f"calibration error {previous.ece:.4f} -> {current.ece:.4f} (rise "
                f"{current.ece - previous.ece:.4f} > {self.max_ece_rise:.4f})"
            )
        if drops:
            findings.append(REGRESSION.finding(where, f"against {against}: " + "; ".join(drops)))
        return findings


def _recall_table(current: GateMetrics, previous: GateMetrics | None) -> ScoreTable:
    classes = sorted(current.per_class_recall)
    recall = np.array([current.per_class_recall[c] for c in classes], dtype=np.float64)
    before = np.array(
        [
            previous.per_class_recall.get(c, math.nan) if previous is not None else math.nan
            for c in classes
        ],
        dtype=np.float64,
    )
    drop = np.where(np.isnan(before), 0.0, np.maximum(before - recall, 0.0))
    return ScoreTable(
        keys=np.asarray(classes, dtype=object),
        columns={"score": drop, "recall": recall, "baseline_recall": before},
    )


def _metrics(current: GateMetrics, previous: GateMetrics | None) -> dict[str, float]:
    out = {"accuracy": current.accuracy, "balanced_accuracy": current.balanced_accuracy}
    if current.ece is not None:
        out["ece"] = current.ece
    if current.log_loss is not None:
        out["log_loss"] = current.log_loss
    if previous is not None:
        out["baseline_accuracy"] = previous.accuracy
        out["accuracy_drop"] = previous.accuracy - current.accuracy
        shared = [c for c in previous.per_class_recall if c in current.per_class_recall]
        out["max_recall_drop"] = max(
            (previous.per_class_recall[c] - current.per_class_recall[c] for c in shared),
            default=0.0,
        )
    return out
