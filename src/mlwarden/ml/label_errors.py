"""Label errors: confident learning combined with neighbourhood agreement.

Two views of each sample vote on the probability that its given label is right:

- a classifier's out-of-fold predicted probabilities (cross-validated, so no sample is
  judged by a model that saw its own label), and
- the label mix of its nearest neighbours in standardized feature space (excluding itself).

The mix of the two is handed to ``cleanlab``'s confident learning, which estimates how many
labels are wrong per class pair and flags that many. The neighbour view catches errors a
linear model cannot (non-linear classes) and withdraws false alarms on samples the model
finds hard but whose neighbours agree with the label. On scikit-learn's digits, breast
cancer and wine with 10-20% uniform or confusable noise the mix scored a higher F1 than
cleanlab on the classifier alone (``benchmarks/label_errors_bench.py``).
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

LABEL_ERRORS = Rule(
    "MLW-LBL-001",
    "Suspected label errors above the allowed rate",
    Severity.MEDIUM,
    "Review the listed samples (highest score first) and correct or drop wrong labels; "
    "a cluster of errors between two classes can be deliberate label flipping.",
    tags=("AML.T0020", "OWASP-ML02"),
    description="Confident learning on out-of-fold probabilities, combined with the label "
    "agreement of each sample's nearest neighbours, estimates which labels are wrong.",
)

_SMOOTHING = 0.1
"""Pseudo-count per class in the neighbour vote, so no class gets probability zero."""


@dataclass(frozen=True)
class LabelErrorCheck:
    """Find samples whose label is probably wrong.

    Parameters:
        max_error_rate: fraction of flagged rows above which the check fails.
        cv_folds: folds of the out-of-fold prediction; every label needs this many rows.
        neighbours: neighbours that vote on each sample's label. 20 scored better than 10
            on every benchmark setting; fewer suits very small classes.
        neighbour_weight: share of the neighbour vote in the combined probability (0..1);
            the rest comes from the classifier.
        random_state: seed of the fold split (and of the default classifier).
        model: an unfitted scikit-learn classifier with ``predict_proba`` used for the
            out-of-fold probabilities (cloned per fold); default: logistic regression on
            standardized features. A ``model`` passed to :meth:`run` takes precedence.

    Scores (one row per sample): ``score`` (1 - combined probability of the given label,
    higher = more suspicious), ``classifier_p`` and ``neighbour_p`` (each view's probability
    of the given label), ``flagged`` (1.0 when flagged) and ``suggested`` (the most
    probable label, as its position in the sorted distinct labels).
    """

    max_error_rate: float = 0.05
    cv_folds: int = 5
    neighbours: int = 20
    neighbour_weight: float = 0.7
    random_state: int = 0
    model: Any | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_error_rate <= 1.0:
            raise UsageError(
                "max_error_rate", f"{self.max_error_rate} is not in [0, 1]", "use e.g. 0.05"
            )
        if not 2 <= self.cv_folds <= 50:
            raise UsageError("cv_folds", f"{self.cv_folds} is not in [2, 50]", "use 5 or 10")
        if not 1 <= self.neighbours <= 200:
            raise UsageError("neighbours", f"{self.neighbours} is not in [1, 200]", "use 10-30")
        if not 0.0 <= self.neighbour_weight <= 1.0:
            raise UsageError(
                "neighbour_weight", f"{self.neighbour_weight} is not in [0, 1]", "use e.g. 0.7"
            )

    @property
    def name(self) -> str:
        return "label-errors"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (LABEL_ERRORS,)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Score every sample's label; flag the ones confident learning counts as wrong.

        Raises ``UsageError`` without labels, with fewer than ``cv_folds`` rows of some
        label, fewer than two labels, non-numeric or non-finite features, or inputs beyond
        the limits in :mod:`mlwarden.ml.dataset_bounds`.
        """
        X = numeric_matrix(data, self.name)
        classes, codes = encoded_labels(data, self.name, min_per_class=self.cv_folds)
        if len(classes) < 2:
            raise UsageError(
                data.source, "every row has the same label", "label errors need two or more labels"
            )
        features = _standardize(X)
        clf_probs = self._out_of_fold_probs(data, X, codes, len(classes), model)
        knn_probs = neighbour_vote(features, codes, len(classes), self.neighbours)
        combined = (1.0 - self.neighbour_weight) * clf_probs + self.neighbour_weight * knn_probs
        flagged = _confident_learning(codes, combined)

        rows = np.arange(len(codes))
        given_p = combined[rows, codes]
        score = 1.0 - given_p
        table = ScoreTable(
            keys=data.ids,
            columns={
                "score": score,
                "classifier_p": clf_probs[rows, codes],
                "neighbour_p": knn_probs[rows, codes],
                "flagged": flagged.astype(np.float64),
                "suggested": np.argmax(combined, axis=1).astype(np.float64),
            },
        )
        count = int(flagged.sum())
        rate = count / len(codes)
        passed = rate <= self.max_error_rate
        findings: tuple[Finding, ...] = ()
        if not passed:
            findings = (self._summary(data, table, flagged, count, rate, classes, codes),)
        metrics = {
            "error_rate": rate,
            "flagged": float(count),
            "samples": float(len(codes)),
            "classes": float(len(classes)),
        }
        return CheckResult(self.name, findings, table, metrics, passed)

    def _out_of_fold_probs(
        self,
        data: Dataset,
        X: npt.NDArray[np.float64],
        codes: npt.NDArray[np.intp],
        n_classes: int,
        model: Any | None,
    ) -> npt.NDArray[np.float64]:
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        estimator = model if model is not None else self.model
        if estimator is None:
            estimator = default_classifier(self.random_state)
        elif not hasattr(estimator, "predict_proba") or not hasattr(estimator, "fit"):
            raise UsageError(
                data.source,
                f"the model {type(estimator).__name__} has no fit/predict_proba",
                "pass an unfitted scikit-learn classifier with predict_proba",
            )
        folds = StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.random_state)
        try:
            probs = cross_val_predict(
                clone(estimator), X, codes, cv=folds, method="predict_proba", n_jobs=1
            )
        except ValueError as exc:
            raise UsageError(
                data.source,
                f"the classifier failed on this data ({exc})",
                "check the features, or pass a model that handles them",
            ) from None
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(codes), n_classes) or not np.isfinite(probs).all():
            raise UsageError(
                data.source,
                "the classifier returned unusable probabilities",
                "pass a classifier whose predict_proba returns one finite column per label",
            )
        return probs

    def _summary(
        self,
        data: Dataset,
        table: ScoreTable,
        flagged: npt.NDArray[np.bool_],
        count: int,
        rate: float,
        classes: npt.NDArray[Any],
        codes: npt.NDArray[np.intp],
    ) -> Finding:
        top = [key for key, _ in table.ranked(top=10)]
        suggested = np.asarray(table.columns["suggested"], dtype=np.intp)
        pairs: dict[tuple[str, str], int] = {}
        for i in np.flatnonzero(flagged):
            pair = (str(classes[codes[i]]), str(classes[suggested[i]]))
            pairs[pair] = pairs.get(pair, 0) + 1
        worst = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:3]
        flips = ", ".join(f"{given}->{likely}: {n}" for (given, likely), n in worst)
        evidence = (
            f"{count} of {len(codes)} labels ({rate:.1%}) look wrong, above the allowed "
            f"{self.max_error_rate:.1%}; most common given->likely labels: {flips}; "
            f"review first: {', '.join(str(k) for k in top)}"
        )
        return LABEL_ERRORS.finding(Location(path=data.source, field="label"), evidence)


def default_classifier(random_state: int) -> Any:
    """Logistic regression on standardized features: fast, calibrated enough for ranking."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=random_state)
    )


def neighbour_vote(
    features: npt.NDArray[np.float64], codes: npt.NDArray[np.intp], n_classes: int, k: int
) -> npt.NDArray[np.float64]:
    """Per-sample label distribution among its ``k`` nearest neighbours (itself excluded).

    Exact duplicates of a sample are still counted as neighbours: a copy carrying another
    label is evidence against the label.
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(codes)
    k = min(k, n - 1)
    index = NearestNeighbors(n_neighbors=k + 1).fit(features)
    _, found = index.kneighbors(features)
    # Drop the sample itself; with duplicates it may not sit in column 0.
    is_self = found == np.arange(n)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    neighbours = found[~is_self].reshape(n, k)
    votes = np.zeros((n, n_classes), dtype=np.float64)
    np.add.at(votes, (np.repeat(np.arange(n), k), codes[neighbours].ravel()), 1.0)
    votes += _SMOOTHING
    result: npt.NDArray[np.float64] = votes / votes.sum(axis=1, keepdims=True)
    return result


def _standardize(X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0  # constant columns carry no distance
    result: npt.NDArray[np.float64] = (X - X.mean(axis=0)) / scale
    return result


def _confident_learning(
    codes: npt.NDArray[np.intp], probs: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    from cleanlab.filter import find_label_issues

    mask = find_label_issues(codes, probs, filter_by="prune_by_noise_rate", n_jobs=1)
    return np.asarray(mask, dtype=bool)
