"""Data-integrity checks: each planted problem is found, clean data stays quiet."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.datasets import make_classification

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.data_integrity import (
    DuplicateConflictCheck,
    TargetLeakageCheck,
    TrainTestLeakageCheck,
)
from mlwarden.ml.data_schema import ClassBalanceCheck, SchemaCheck


def _data(n: int = 300, seed: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int_]]:
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=3, n_classes=3, random_state=seed
    )
    return X, y


def _flagged(result_keys: npt.NDArray[np.int_], score: npt.NDArray[np.float64]) -> set[int]:
    return {int(k) for k, s in zip(result_keys, score, strict=True) if s > 0}


def test_exact_and_near_duplicates_with_flipped_labels_found() -> None:
    X, y = _data()
    # Rows 300-304: exact copies of rows 0-4 with another label; 305-309: copies of
    # rows 10-14 nudged by 1e-4 with another label; 310-314: honest exact copies.
    X2 = np.vstack([X, X[:5], X[10:15] + 1e-4, X[20:25]])
    y2 = np.concatenate([y, (y[:5] + 1) % 3, (y[10:15] + 1) % 3, y[20:25]])
    result = DuplicateConflictCheck().run(Dataset(X=X2, y=y2, source="train.npy"))
    conflicting = _flagged(result.scores.keys, result.scores.columns["score"])
    planted = {*range(5), *range(300, 305), *range(10, 15), *range(305, 310)}
    assert conflicting == planted
    assert not result.passed
    assert [f.rule_id for f in result.findings] == ["MLW-DATA-001", "MLW-DATA-002"]
    assert result.metrics["duplicate_rows"] == 10
    assert result.metrics["near_conflicts"] == 10


def test_clean_data_without_duplicates_passes() -> None:
    X, y = _data()
    result = DuplicateConflictCheck().run(Dataset(X=X, y=y))
    assert result.passed and result.findings == ()


def test_duplicates_without_labels_are_reported_but_pass() -> None:
    X, _ = _data()
    result = DuplicateConflictCheck().run(Dataset(X=np.vstack([X, X[:3]])))
    assert result.passed
    assert [f.rule_id for f in result.findings] == ["MLW-DATA-002"]


def test_train_test_overlap_found() -> None:
    X, y = _data()
    test_X = np.vstack([_data(seed=1)[0][:50], X[:7]])
    check = TrainTestLeakageCheck(test=Dataset(X=test_X, source="test.csv"))
    result = check.run(Dataset(X=X, y=y, source="train.csv"))
    assert _flagged(result.scores.keys, result.scores.columns["score"]) == set(range(50, 57))
    assert not result.passed
    assert result.findings[0].location.path == "test.csv"
    clean = TrainTestLeakageCheck(test=Dataset(X=_data(seed=1)[0][:50])).run(Dataset(X=X))
    assert clean.passed and clean.findings == ()


def test_train_test_column_mismatch_refused() -> None:
    X, _ = _data()
    with pytest.raises(UsageError, match="columns"):
        TrainTestLeakageCheck(test=Dataset(X=X[:, :3])).run(Dataset(X=X))


def test_target_leakage_feature_found() -> None:
    X, y = _data()
    rng = np.random.default_rng(0)
    leaked = y * 10.0 + rng.normal(scale=0.5, size=len(y))  # e.g. an encoded outcome
    names = (*[f"x{i}" for i in range(6)], "outcome_code")
    result = TargetLeakageCheck().run(
        Dataset(X=np.column_stack([X, leaked]), y=y, feature_names=names)
    )
    assert not result.passed
    assert [f.location.field for f in result.findings] == ["outcome_code"]
    assert result.scores.ranked()[0][0] == "outcome_code"
    clean = TargetLeakageCheck().run(Dataset(X=X, y=y))
    assert clean.passed and clean.metrics["max_score"] < 0.9


def test_schema_from_reference() -> None:
    X, _ = _data()
    names = tuple(f"c{i}" for i in range(6))
    reference = Dataset(X=X, feature_names=names)
    assert SchemaCheck(reference=reference).run(Dataset(X=X[:100], feature_names=names)).passed

    bad = X[:100].copy()
    bad[0, 1] = np.nan
    bad[1, 2] = np.inf
    bad[2, 3] = X[:, 3].max() + 100
    bad[:, 4] = X[0, 4]  # constant, yet inside the reference range
    result = SchemaCheck(reference=reference).run(Dataset(X=bad, feature_names=names))
    rules = {(f.rule_id, f.location.field) for f in result.findings}
    assert rules == {
        ("MLW-DATA-008", "c1"),
        ("MLW-DATA-008", "c2"),
        ("MLW-DATA-007", "c3"),
        ("MLW-DATA-009", "c4"),
    }
    assert not result.passed


def test_schema_from_dict_columns_and_types() -> None:
    data = Dataset(
        X=np.array([["1", "a"], ["2", "b"]], dtype=object), feature_names=("age", "name")
    )
    expected = {"age": {"dtype": "numeric", "min": 0, "max": 120}, "city": {"dtype": "text"}}
    result = SchemaCheck(expected=expected).run(data)
    assert not result.passed
    assert result.metrics["missing_columns"] == 1 and result.metrics["unexpected_columns"] == 1
    typed = SchemaCheck(expected={"age": {"dtype": "text"}, "name": {"dtype": "text"}})
    assert [f.rule_id for f in typed.run(data).findings] == ["MLW-DATA-006"]
    with pytest.raises(UsageError, match="unknown keys"):
        SchemaCheck(expected={"age": {"kind": "numeric"}}).run(data)


def test_class_balance_shift_found_and_same_distribution_passes() -> None:
    rng = np.random.default_rng(0)
    reference = Dataset(X=np.zeros((3000, 1)), y=rng.choice(3, 3000, p=[0.5, 0.3, 0.2]))
    same = Dataset(X=np.zeros((2000, 1)), y=rng.choice(3, 2000, p=[0.5, 0.3, 0.2]))
    shifted = Dataset(X=np.zeros((2000, 1)), y=rng.choice(3, 2000, p=[0.4, 0.3, 0.3]))
    check = ClassBalanceCheck(reference=reference)
    assert check.run(same).passed
    result = check.run(shifted)
    assert not result.passed and result.metrics["p_value"] < 1e-6
    new_label = Dataset(X=np.zeros((4, 1)), y=np.array([0, 1, 2, 9]))
    assert not ClassBalanceCheck(reference={0: 1, 1: 1, 2: 1}).run(new_label).passed
