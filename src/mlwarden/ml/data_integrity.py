"""Training-data integrity: conflicting duplicates, train/test overlap, target leakage.

Schema and class-balance checks live in :mod:`mlwarden.ml.data_schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.dataset_bounds import encoded_labels, numeric_matrix

CONFLICTING_DUPLICATES = Rule(
    "MLW-DATA-001",
    "Duplicate samples with conflicting labels",
    Severity.HIGH,
    "Inspect the listed rows: identical or nearly identical samples carrying different "
    "labels are labelling mistakes or deliberate label flips; keep one correct label.",
    tags=("AML.T0020", "OWASP-ML02"),
)
DUPLICATES = Rule(
    "MLW-DATA-002",
    "Duplicate samples",
    Severity.LOW,
    "Drop repeated rows unless repetition is intended; duplicates over-weight samples and "
    "inflate validation scores.",
)
TRAIN_TEST_OVERLAP = Rule(
    "MLW-DATA-003",
    "Test rows also present in the training data",
    Severity.HIGH,
    "Remove the overlapping rows from the test set (or split by entity) so test scores "
    "measure generalisation, not memory.",
)
TARGET_LEAKAGE = Rule(
    "MLW-DATA-004",
    "A single feature predicts the label almost perfectly",
    Severity.HIGH,
    "Check whether the feature is derived from the label or only known after the outcome; "
    "drop it from training if so.",
)


def row_keys(X: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.intp]:
    """An integer per row; rows equal after rounding to ``decimals`` share the integer."""
    rounded = np.round(X, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    rows = np.ascontiguousarray(rounded).view(
        np.dtype((np.void, rounded.dtype.itemsize * X.shape[1]))
    )
    _, inverse = np.unique(rows.ravel(), return_inverse=True)
    return np.asarray(inverse, dtype=np.intp)


def _ids_text(ids: npt.NDArray[Any], rows: npt.NDArray[np.intp], limit: int = 10) -> str:
    shown = ", ".join(str(ids[i]) for i in rows[:limit])
    return shown + (f" (+{len(rows) - limit} more)" if len(rows) > limit else "")


@dataclass(frozen=True)
class DuplicateConflictCheck:
    """Exact and near-duplicate samples, failing when duplicates disagree on the label.

    Parameters:
        decimals: rows equal after rounding to this many decimals are exact duplicates.
        near_ratio: two rows are near-duplicates when their distance (standardized features)
            is at most this fraction of the median nearest-neighbour distance; 0 disables.
        max_conflict_rate: fraction of rows in conflicting groups above which the check fails.

    Scores (per sample): ``score`` (1.0 in a conflicting group), ``group`` (rows with the same
    value are exact duplicates), ``nn_distance`` (to the nearest other row, in units of the
    median nearest-neighbour distance) and ``near_conflict`` (1.0 when the nearest row is a
    near-duplicate with another label). Labels are optional: without them only plain
    duplicates are reported.
    """

    decimals: int = 6
    near_ratio: float = 0.05
    max_conflict_rate: float = 0.0

    @property
    def name(self) -> str:
        return "duplicate-conflicts"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (CONFLICTING_DUPLICATES, DUPLICATES)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Group duplicate rows and compare their labels."""
        X = numeric_matrix(data, self.name)
        n = len(X)
        groups = row_keys(X, self.decimals)
        sizes = np.bincount(groups)
        duplicated = sizes[groups] > 1
        codes = encoded_labels(data, self.name)[1] if data.y is not None else None

        conflict = np.zeros(n, dtype=bool)
        near_conflict = np.zeros(n, dtype=bool)
        if codes is not None:
            # A group conflicts when its labels are not all equal.
            lo = np.full(len(sizes), np.iinfo(np.intp).max)
            hi = np.full(len(sizes), -1)
            np.minimum.at(lo, groups, codes)
            np.maximum.at(hi, groups, codes)
            conflict = (lo != hi)[groups]
        distance = self._nearest_distance(X, groups, codes, near_conflict)
        conflict |= near_conflict

        rate = float(conflict.sum()) / n
        passed = rate <= self.max_conflict_rate
        findings: list[Finding] = []
        where = Location(path=data.source, field="rows")
        if conflict.any():
            rows = np.flatnonzero(conflict)
            findings.append(
                CONFLICTING_DUPLICATES.finding(
                    where,
                    f"{len(rows)} rows ({rate:.1%}) duplicate or nearly duplicate another row "
                    f"with a different label ({int(near_conflict.sum())} near, the rest exact): "
                    f"{_ids_text(data.ids, rows)}",
                )
            )
        extra = int(duplicated.sum() - (sizes > 1).sum())
        if extra:
            findings.append(
                DUPLICATES.finding(
                    where,
                    f"{extra} rows repeat an earlier row exactly (after rounding to "
                    f"{self.decimals} decimals): {_ids_text(data.ids, np.flatnonzero(duplicated))}",
                )
            )
        table = ScoreTable(
            keys=data.ids,
            columns={
                "score": conflict.astype(np.float64),
                "group": groups.astype(np.float64),
                "nn_distance": distance,
                "near_conflict": near_conflict.astype(np.float64),
            },
        )
        metrics = {
            "conflict_rate": rate,
            "conflicting_rows": float(conflict.sum()),
            "duplicate_rows": float(extra),
            "near_conflicts": float(near_conflict.sum()),
        }
        return CheckResult(self.name, tuple(findings), table, metrics, passed)

    def _nearest_distance(
        self,
        X: npt.NDArray[np.float64],
        groups: npt.NDArray[np.intp],
        codes: npt.NDArray[np.intp] | None,
        near_conflict: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.float64]:
        """Nearest distinct-row distance per row (relative); marks near conflicts in place."""
        from sklearn.neighbors import NearestNeighbors

        n = len(X)
        # One representative per exact group, so exact copies do not hide near ones.
        _, first = np.unique(groups, return_index=True)
        if len(first) < 3:
            return np.zeros(n)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        reps = (X[first] - X.mean(axis=0)) / scale
        index = NearestNeighbors(n_neighbors=2).fit(reps)
        dist, found = index.kneighbors(reps)
        nearest = dist[:, 1]
        median = float(np.median(nearest))
        relative = nearest / median if median > 0 else np.zeros(len(first))
        if codes is not None and self.near_ratio > 0 and median > 0:
            rep_codes = codes[first]
            other = first[found[:, 1]]
            near = (relative <= self.near_ratio) & (rep_codes != codes[other])
            for rep, partner in zip(first[near], other[near], strict=True):
                near_conflict[groups == groups[rep]] = True
                near_conflict[groups == groups[partner]] = True
        by_group = np.empty(int(groups.max()) + 1)
        by_group[groups[first]] = relative
        result: npt.NDArray[np.float64] = by_group[groups]
        return result


@dataclass(frozen=True)
class TrainTestLeakageCheck:
    """Rows of a test set that also appear in the training data given to :meth:`run`.

    Parameters:
        test: the held-out Dataset (same columns as the training data).
        decimals: rows equal after rounding to this many decimals count as the same row.
        max_leak_rate: fraction of test rows found in training above which the check fails.

    Scores: one row per *test* sample (keys are the test ids): ``score`` (1.0 when the row
    is in the training data) and ``train_copies`` (how many training rows equal it).
    """

    test: Dataset
    decimals: int = 6
    max_leak_rate: float = 0.0

    @property
    def name(self) -> str:
        return "train-test-leakage"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (TRAIN_TEST_OVERLAP,)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Compare ``data`` (the training set) with the configured test set."""
        train = numeric_matrix(data, self.name)
        test = numeric_matrix(self.test, self.name)
        if train.shape[1] != test.shape[1]:
            raise UsageError(
                self.test.source,
                f"the test set has {test.shape[1]} columns, the training set {train.shape[1]}",
                "select the same feature columns in both",
            )
        keys = row_keys(np.vstack([train, test]), self.decimals)
        train_counts = np.bincount(keys[: len(train)], minlength=int(keys.max()) + 1)
        copies = train_counts[keys[len(train) :]]
        leaked = copies > 0
        rate = float(leaked.sum()) / len(test)
        findings: tuple[Finding, ...] = ()
        if leaked.any():
            rows = np.flatnonzero(leaked)
            findings = (
                TRAIN_TEST_OVERLAP.finding(
                    Location(path=self.test.source, field="rows"),
                    f"{len(rows)} of {len(test)} test rows ({rate:.1%}) also occur in "
                    f"{data.source}: {_ids_text(self.test.ids, rows)}",
                ),
            )
        table = ScoreTable(
            keys=self.test.ids,
            columns={"score": leaked.astype(np.float64), "train_copies": copies.astype(np.float64)},
        )
        metrics = {"leak_rate": rate, "leaked_rows": float(leaked.sum())}
        return CheckResult(self.name, findings, table, metrics, rate <= self.max_leak_rate)


@dataclass(frozen=True)
class TargetLeakageCheck:
    """Features that alone predict the label almost perfectly.

    Each feature is scored by the cross-validated balanced accuracy of a shallow decision
    tree trained on that feature only; a feature at or above ``max_score`` is reported.
    Balanced accuracy keeps a majority-class guess at 1/k however skewed the labels are.

    Parameters:
        max_score: balanced accuracy (0..1) at or above which a feature is leakage.
        max_depth: depth of the per-feature tree (a few splits suffice for a leaked label).
        cv_folds: folds of the cross-validation.
        max_rows: rows used for scoring (a seeded random sample beyond it) to bound time.
        random_state: seed of the folds and the row sample.

    Scores: one row per feature (keys are feature names): ``score`` (balanced accuracy).
    """

    max_score: float = 0.98
    max_depth: int = 3
    cv_folds: int = 5
    max_rows: int = 20_000
    random_state: int = 0

    @property
    def name(self) -> str:
        return "target-leakage"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (TARGET_LEAKAGE,)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Score every feature on its own against the labels."""
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.tree import DecisionTreeClassifier

        X = numeric_matrix(data, self.name)
        classes, codes = encoded_labels(data, self.name, min_per_class=self.cv_folds)
        if len(classes) < 2:
            raise UsageError(data.source, "every row has the same label", "use two or more labels")
        if len(X) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            keep = np.sort(rng.choice(len(X), self.max_rows, replace=False))
            X, codes = X[keep], codes[keep]
        folds = StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.random_state)
        tree = DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.random_state)
        scores = np.empty(X.shape[1])
        for j in range(X.shape[1]):
            column = X[:, j : j + 1]
            scores[j] = cross_val_score(
                tree, column, codes, cv=folds, scoring="balanced_accuracy"
            ).mean()
        names = data.names
        findings = tuple(
            TARGET_LEAKAGE.finding(
                Location(path=data.source, field=names[j]),
                f"feature {names[j]!r} alone predicts the label with balanced accuracy "
                f"{scores[j]:.3f} (threshold {self.max_score:.3f}, chance {1 / len(classes):.3f})",
            )
            for j in np.argsort(-scores, kind="stable")
            if scores[j] >= self.max_score
        )
        table = ScoreTable(keys=np.asarray(names), columns={"score": scores})
        metrics = {"max_score": float(scores.max()), "leaking_features": float(len(findings))}
        return CheckResult(self.name, findings, table, metrics, not findings)
