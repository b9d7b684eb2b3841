"""The validation gate: a model trained on shuffled labels regresses and fails; an equal model
passes; floors, ceilings and the metrics file behave as documented."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.gate_metrics import (
    GateMetrics,
    compute_metrics,
    expected_calibration_error,
    read_metrics,
    write_metrics,
)
from mlwarden.ml.validation_gate import ValidationGateCheck


def _split() -> tuple[Dataset, Dataset]:
    data = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    return Dataset(X=X_tr, y=y_tr), Dataset(X=X_te, y=y_te, source="heldout.csv")


def _fit(train: Dataset, *, shuffle: bool = False) -> Any:
    assert train.y is not None
    y = np.random.default_rng(0).permutation(train.y) if shuffle else train.y
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(train.X, y)


@pytest.fixture(scope="module")
def split() -> tuple[Dataset, Dataset]:
    return _split()


def test_an_equal_model_passes_against_its_own_baseline(split: tuple[Dataset, Dataset]) -> None:
    train, heldout = split
    model = _fit(train)
    baseline = compute_metrics(model, heldout, described_as="v1")
    result = ValidationGateCheck(baseline=baseline).run(heldout, _fit(train))
    assert result.passed and result.findings == ()
    assert result.metrics["accuracy_drop"] == 0.0


def test_a_model_trained_on_shuffled_labels_fails_as_a_regression(
    split: tuple[Dataset, Dataset],
) -> None:
    train, heldout = split
    baseline = compute_metrics(_fit(train), heldout, described_as="v1.joblib")
    result = ValidationGateCheck(baseline=baseline).run(heldout, _fit(train, shuffle=True))
    assert not result.passed
    [finding] = result.findings
    assert finding.rule_id == "MLW-GATE-003"
    assert finding.evidence.startswith("against v1.joblib: accuracy 0.9")
    assert "recall of class" in finding.evidence
    assert result.metrics["accuracy_drop"] > 0.2


def test_baseline_model_is_measured_on_the_same_data(split: tuple[Dataset, Dataset]) -> None:
    train, heldout = split
    check = ValidationGateCheck(baseline_model=_fit(train))
    assert not check.run(heldout, _fit(train, shuffle=True)).passed
    assert check.run(heldout, _fit(train)).passed


def test_floor_and_calibration_ceiling(split: tuple[Dataset, Dataset]) -> None:
    train, heldout = split
    model = _fit(train)
    measured = compute_metrics(model, heldout)
    assert measured.ece is not None and measured.log_loss is not None
    strict = ValidationGateCheck(min_accuracy=0.999, max_ece=measured.ece / 2)
    result = strict.run(heldout, model)
    assert [f.rule_id for f in result.findings] == ["MLW-GATE-001", "MLW-GATE-002"]
    assert ValidationGateCheck(min_accuracy=0.9, max_ece=0.5).run(heldout, model).passed


def test_a_class_whose_recall_collapses_fails_even_when_accuracy_holds() -> None:
    # 98 samples of class 0, 2 of class 1: predicting 0 always keeps accuracy at 0.98.
    X = np.arange(100, dtype=float).reshape(-1, 1)
    y = np.array([0] * 98 + [1] * 2)
    data = Dataset(X=X, y=y)

    class Always:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def predict(self, X: Any) -> Any:
            return np.where(X[:, 0] >= 98, self.answer, 0)

    before = compute_metrics(Always(1), data)
    result = ValidationGateCheck(baseline=before, max_accuracy_drop=0.05).run(data, Always(0))
    [finding] = result.findings
    assert "recall of class '1' 1.0000 -> 0.0000" in finding.evidence
    assert result.metrics["accuracy_drop"] == pytest.approx(0.02)  # within the tolerance
    assert result.scores.ranked(top=1) == [("1", 1.0)]


def test_expected_calibration_error_by_hand() -> None:
    # Bin (0.6, 0.7]: confidence 0.65 twice, one right -> gap 0.15, weight 1/2.
    # Bin (0.9, 1.0]: confidence 0.95 twice, both right -> gap 0.05, weight 1/2.
    confidence = np.array([0.65, 0.65, 0.95, 0.95])
    correct = np.array([True, False, True, True])
    assert expected_calibration_error(confidence, correct, 10) == pytest.approx(0.10)


def test_text_labels_and_numeric_predictions_agree() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    data = Dataset(X=X, y=np.array(["0", "1", "0", "1"]))

    class Parity:
        def predict(self, X: Any) -> Any:
            return X[:, 0].astype(int) % 2

    assert compute_metrics(Parity(), data).accuracy == 1.0


def test_metrics_file_round_trip(tmp_path: Path, split: tuple[Dataset, Dataset]) -> None:
    train, heldout = split
    metrics = compute_metrics(_fit(train), heldout, described_as="v1.joblib")
    path = tmp_path / "v1.json"
    write_metrics(path, metrics)
    assert read_metrics(path) == metrics
    assert json.loads(path.read_text())["format"] == "mlwarden-gate-metrics/1"


def _valid() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        GateMetrics(0.9, 0.88, {"0": 0.85, "1": 0.91}, 0.3, 0.05).to_json()
    )
    return doc


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"format": "other/2"}', "has format 'other/2'"),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON"),
        (json.dumps({**_valid(), "metrics": {"accuracy": 1.5}}), "between 0 and 1"),
        (
            json.dumps(_valid()).replace('"accuracy": 0.9', '"accuracy": NaN'),
            "is not valid JSON (NaN",
        ),
        (json.dumps({**_valid(), "per_class_recall": None}), "per_class_recall"),
        (json.dumps({**_valid(), "metrics": {"accuracy": 0.9}}), "has no `balanced_accuracy`"),
        (json.dumps({**_valid(), "n_samples": -1}), "n_samples"),
    ],
)
def test_malformed_metrics_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        read_metrics(path)
    assert caught.value.subject == str(path)
    assert problem in caught.value.problem
    assert "--write-metrics" in caught.value.fix


def test_oversized_metrics_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (1 << 20) + b"{}")
    with pytest.raises(UsageError, match="larger than 1 MiB"):
        read_metrics(path)


def test_bad_options_are_usage_errors(split: tuple[Dataset, Dataset]) -> None:
    train, heldout = split
    model = _fit(train)
    with pytest.raises(UsageError, match="min_accuracy"):
        ValidationGateCheck(min_accuracy=1.5).run(heldout, model)
    with pytest.raises(UsageError, match="give one"):
        ValidationGateCheck(baseline=compute_metrics(model, heldout), baseline_model=model).run(
            heldout, model
        )
    with pytest.raises(UsageError, match="needs a model"):
        ValidationGateCheck().run(heldout)


def test_a_baseline_from_other_data_is_reported_but_does_not_fail(
    split: tuple[Dataset, Dataset],
) -> None:
    train, heldout = split
    model = _fit(train)
    baseline = replace(compute_metrics(model, heldout), data_sha256="a" * 64, data="old.csv")
    result = ValidationGateCheck(baseline=baseline, data_sha256="b" * 64).run(heldout, model)
    assert [f.rule_id for f in result.findings] == ["MLW-GATE-004"]
    assert "old.csv" in result.findings[0].evidence
    assert result.passed
