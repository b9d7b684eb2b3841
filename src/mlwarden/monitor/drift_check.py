"""``DriftCheck``: does a window of live data still look like the reference?

Every test run on a window (per numeric feature: KS, rank tests of location and scale,
and PSI; per categorical feature: chi-squared and PSI; joint: MMD and a classifier
two-sample test; outputs: prediction shift and confidence when a model is given) yields a
valid p-value. The tests of one row (a feature, the joint tests, an output) ask the same
question, "did this row's distribution change?", in ways that suit different shifts, so
their p-values are merged into one per row with the Cauchy combination, which stays valid
however the tests depend on each other. One multiple-test correction over the rows then
keeps the chance that a window drawn from the reference raises any alarm at most
``alpha``.

Why per row and not per test: correcting over every test divides ``alpha`` by the number
of tests (two or four per feature), although the tests of a feature are strongly
dependent, so each feature's most suitable test ran at a needlessly strict level. Per
row, ``alpha`` is split only between the features and the joint tests, a test that
suits the shift loses about a factor of the row's test count, and tests that agree
reinforce each other. The rank tests give per-feature power on location and scale shifts
(where KS is weak) without spending any more of ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.monitor import rules
from mlwarden.monitor.columns import as_labels, as_numbers, count_labels
from mlwarden.monitor.joint_tests import JointTests
from mlwarden.monitor.output_profile import OutputProfile, check_probabilities
from mlwarden.monitor.output_tests import output_tests
from mlwarden.monitor.profile import ReferenceProfile
from mlwarden.monitor.stat_tests import (
    CORRECTIONS,
    Correction,
    adjust,
    cauchy_combination,
    chi2_two_sample,
    psi,
    rank_location_scale,
    rank_null,
)
from mlwarden.monitor.stat_tests import ks_two_sample as ks

FloatArray = npt.NDArray[np.float64]

TESTS = ("ks", "rank", "chi2", "psi", "mmd", "c2st")
MAX_WINDOW_ROWS = 1_000_000
"""Largest window :meth:`DriftCheck.run` accepts."""
MIN_WINDOW_ROWS = 10
PSI_MAJOR = 0.25
"""PSI above which a drifted feature is reported as high severity (the usual rule of
thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major)."""
CONFIDENCE_DROP = 0.05
"""Fall in mean top-class probability that, when significant, counts as a collapse."""
JOINT_KEY = "<joint>"


@dataclass
class TestRow:
    """Accumulates one row of the score table (a feature, the joint tests or an output)."""

    key: str
    statistic: float = 0.0
    psi: float = 0.0
    tests: list[tuple[str, float, float]] = field(default_factory=list)
    """(test name, statistic, raw p-value)."""
    note: str = ""
    values: FloatArray | None = None
    """Numeric window values, described in the evidence when the feature drifted."""
    reference: FloatArray | None = None


@dataclass(frozen=True)
class DriftCheck:
    """Compare a window of data with a :class:`ReferenceProfile`.

    ``alpha`` is the window-level false-alarm rate: on windows drawn from the reference
    distribution, at most this share raise any finding. ``tests`` selects from ``ks`` and
    ``rank`` (rank tests of location and scale; numeric features), ``chi2`` (categorical
    features), ``psi`` (every feature), ``mmd`` and ``c2st`` (numeric features jointly).
    The p-values of each feature, and those of the joint tests, are combined into one
    (:func:`~mlwarden.monitor.stat_tests.cauchy_combination`), and ``correction``
    (``holm``, the default, ``bonferroni`` or ``bh``) corrects over these rows. Results
    are deterministic given ``random_state``.

    ``run(window, model)`` also tests the model's outputs when ``model`` has
    ``predict_proba`` and the profile was fitted with probabilities.
    """

    profile: ReferenceProfile
    alpha: float = 0.05
    correction: Correction = "holm"
    tests: tuple[str, ...] = TESTS
    random_state: int = 0
    _joint: JointTests | None = field(init=False, repr=False, compare=False, default=None)
    _rank_null: dict[int, FloatArray] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise UsageError("alpha", f"is {self.alpha}", "use a false-alarm rate in (0, 1)")
        if self.correction not in CORRECTIONS:
            raise UsageError(
                "correction", f"unknown method {self.correction!r}", f"use one of {CORRECTIONS}"
            )
        unknown = set(self.tests) - set(TESTS)
        if unknown or not self.tests:
            raise UsageError("tests", f"unknown or no tests {sorted(unknown)}", f"use {TESTS}")
        if self.profile.joint is not None and {"mmd", "c2st"} & set(self.tests):
            joint = JointTests(self.profile.joint, random_state=self.random_state)
            object.__setattr__(self, "_joint", joint)
        if "rank" in self.tests:
            for i, feature in enumerate(self.profile.features):
                if feature.kind == "numeric" and feature.quantiles.shape[0] >= 2:
                    self._rank_null[i] = rank_null(feature.quantiles)

    @property
    def name(self) -> str:
        return "drift"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (
            rules.FEATURE_DRIFT,
            rules.JOINT_DRIFT,
            rules.PREDICTION_SHIFT,
            rules.CONFIDENCE_COLLAPSE,
        )

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Test ``data`` (a window of live inputs) against the profile."""
        X = self._window(data)
        rows: list[TestRow] = []
        numeric: dict[int, FloatArray] = {}
        for i, (feature, column) in enumerate(
            zip(self.profile.features, self._columns(data), strict=True)
        ):
            row = TestRow(feature.name)
            values = X[:, column]
            if feature.kind == "numeric":
                numbers = as_numbers(values)
                if numbers is None:
                    raise UsageError(
                        data.source,
                        f"feature {feature.name!r} holds non-numbers but was numeric in the "
                        "reference",
                        "fix the column's type or refit the profile",
                    )
                numeric[column] = numbers
                present = numbers[~np.isnan(numbers)]
                if "ks" in self.tests and feature.n and present.size:
                    distance, p = ks(feature.quantiles, feature.n, present)
                    row.tests.append(("ks", distance, p))
                    row.statistic = distance
                    row.values = present
                    row.reference = feature.quantiles
                if "rank" in self.tests and feature.n and present.size:
                    location, scale = rank_location_scale(
                        feature.quantiles, feature.n, present, self._rank_null.get(i)
                    )
                    row.tests.append(("rank-location z", *location))
                    row.tests.append(("rank-scale z", *scale))
                    if row.values is None:
                        row.statistic = abs(location[0])
                    row.values = present
                    row.reference = feature.quantiles
                counts = feature.bin_counts(numbers)
            else:
                counts = count_labels(as_labels(values), feature.categories)
                if "chi2" in self.tests:
                    statistic, p = chi2_two_sample(feature.counts, counts)
                    row.tests.append(("chi2", statistic, p))
                    row.statistic = statistic
                    row.note = _category_note(feature.categories, feature.counts, counts)
            if "psi" in self.tests and counts.sum() > 0:
                value, p = psi(feature.counts, counts)
                row.tests.append(("psi", value, p))
                row.psi = value
            rows.append(row)

        if self._joint is not None and self.profile.joint is not None:
            joint = self.profile.joint
            matrix = np.column_stack([numeric[c] for c in joint.columns])
            row = TestRow(JOINT_KEY)
            z = joint.standardise(matrix)
            if "mmd" in self.tests:
                statistic, p = self._joint.mmd(z)
                row.tests.append(("mmd", statistic, p))
                row.statistic = statistic
            if "c2st" in self.tests:
                auc, p = self._joint.c2st(z)
                row.tests.append(("c2st", auc, p))
                row.note = f"classifier AUC {auc:.3f}"
            rows.append(row)

        if model is not None and self.profile.outputs is not None:
            rows.extend(self._output_rows(data, model))
        return result_from_rows(self.name, data, rows, self.alpha, self.correction)

    def _window(self, data: Dataset) -> npt.NDArray[Any]:
        n = data.n_samples
        if not MIN_WINDOW_ROWS <= n <= MAX_WINDOW_ROWS:
            raise UsageError(
                data.source,
                f"the window has {n} rows; drift tests need {MIN_WINDOW_ROWS}..{MAX_WINDOW_ROWS}",
                "use windows of a few hundred to a few thousand rows",
            )
        return data.flat()

    def _columns(self, data: Dataset) -> list[int]:
        index = {name: i for i, name in enumerate(data.names)}
        missing = [f.name for f in self.profile.features if f.name not in index]
        if missing:
            raise UsageError(
                data.source,
                f"the window lacks features of the reference: {missing[:10]}",
                "send the same columns the profile was fitted on",
            )
        return [index[f.name] for f in self.profile.features]

    def _output_rows(self, data: Dataset, model: Any) -> list[TestRow]:
        assert self.profile.outputs is not None
        if not hasattr(model, "predict_proba"):
            raise UsageError(
                "model", "has no predict_proba method", "pass a probabilistic classifier"
            )
        probabilities = np.asarray(model.predict_proba(data.X), dtype=np.float64)
        check_probabilities(probabilities, data.n_samples, data.source)
        return output_rows(self.profile.outputs, probabilities)


def result_from_rows(
    name: str, data: Dataset, rows: Sequence[TestRow], alpha: float, correction: Correction
) -> CheckResult:
    """Combine each row's p-values (Cauchy combination), correct the rows' p-values
    together and turn the rejections into findings.

    A row's tests are dependent views of one hypothesis, so combining them first spends
    ``alpha`` on rows, not on tests (see the module docstring)."""
    combined = np.array(
        [cauchy_combination([p for _, _, p in row.tests]) for row in rows],
        dtype=np.float64,
    )
    adj = adjust(combined, correction)
    findings: list[Finding] = []
    keys, stat_col, psi_col = [], [], []
    for row, p_adjusted in zip(rows, adj, strict=True):
        keys.append(row.key)
        stat_col.append(row.statistic)
        psi_col.append(row.psi)
        if p_adjusted < alpha:
            findings.append(_finding(data, row, float(p_adjusted)))
    scores = ScoreTable(
        keys=np.array(keys, dtype=object),
        columns={
            "score": -np.log10(np.maximum(adj, 1e-300)),
            "statistic": np.array(stat_col),
            "psi": np.array(psi_col),
            "p_value": combined,
            "p_adjusted": adj,
            "drifted": (adj < alpha).astype(np.float64),
        },
    )
    feature_rows = [i for i, k in enumerate(keys) if not k.startswith("<")]
    metrics = {
        "rows": float(data.n_samples),
        "tests": float(sum(len(row.tests) for row in rows)),
        "drifted_features": float(sum(adj[i] < alpha for i in feature_rows)),
        "share_drifted": float(np.mean(adj[feature_rows] < alpha)) if feature_rows else 0.0,
        "max_psi": float(max((psi_col[i] for i in feature_rows), default=0.0)),
        "min_p_adjusted": float(adj.min()) if adj.size else 1.0,
        "drift": float(bool(findings)),
    }
    return CheckResult(name, tuple(findings), scores, metrics, passed=not findings)


def _finding(data: Dataset, row: TestRow, adjusted: float) -> Finding:
    parts = [f"{name} {statistic:.4g} (p={p:.2g})" for name, statistic, p in row.tests]
    parts.append(f"combined adjusted p={adjusted:.2g}")
    note = row.note
    if row.values is not None and row.reference is not None:
        note = (
            f"window median {np.median(row.values):.4g}, IQR "
            f"{np.subtract(*np.percentile(row.values, [75, 25])):.4g} vs reference "
            f"{np.median(row.reference):.4g}, "
            f"{np.subtract(*np.percentile(row.reference, [75, 25])):.4g}"
        )
    evidence = "; ".join(parts) + (f"; {note}" if note else "")
    location = Location(path=data.source, field=row.key)
    if row.key == JOINT_KEY:
        return rules.JOINT_DRIFT.finding(location, evidence)
    if row.key == "<prediction>":
        return rules.PREDICTION_SHIFT.finding(location, evidence)
    if row.key == "<confidence>":
        if row.psi <= -CONFIDENCE_DROP:
            return rules.CONFIDENCE_COLLAPSE.finding(location, evidence)
        return rules.PREDICTION_SHIFT.finding(location, evidence)
    severity = Severity.HIGH if row.psi >= PSI_MAJOR else None
    return rules.FEATURE_DRIFT.finding(location, evidence, severity=severity)


def _category_note(categories: tuple[str, ...], reference: FloatArray, window: FloatArray) -> str:
    """The category whose share changed most, for the finding's evidence."""
    if window.sum() == 0 or reference.sum() == 0:
        return ""
    change = window / window.sum() - reference / reference.sum()
    i = int(np.argmax(np.abs(change)))
    label = categories[i] if i < len(categories) else "<other>"
    return (
        f"share of {label!r} {window[i] / window.sum():.1%} vs reference "
        f"{reference[i] / reference.sum():.1%}"
    )


def output_rows(profile: OutputProfile, probabilities: FloatArray) -> list[TestRow]:
    """Score-table rows for the output tests (``psi`` holds window minus reference)."""
    out = []
    for test in output_tests(profile, probabilities):
        row = TestRow(test.key, statistic=test.statistic)
        row.tests.append((test.key.strip("<>"), test.statistic, test.p_value))
        row.note = f"window {test.window_value:.3f} vs reference {test.reference_value:.3f}"
        row.psi = test.window_value - test.reference_value
        out.append(row)
    return out
