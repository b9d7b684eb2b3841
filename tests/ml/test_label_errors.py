"""Label-error check: planted flips are found, clean labels stay quiet."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.datasets import load_wine, make_blobs
from sklearn.ensemble import RandomForestClassifier

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.label_errors import LabelErrorCheck, neighbour_vote


def _flip(y: npt.NDArray[np.int_], rate: float, seed: int) -> tuple[npt.NDArray[np.int_], set[int]]:
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), int(rate * len(y)), replace=False)
    noisy = y.copy()
    classes = np.unique(y)
    for i in flipped:
        noisy[i] = rng.choice(classes[classes != y[i]])
    return noisy, {int(i) for i in flipped}


def _blobs(seed: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int_]]:
    X, y = make_blobs(n_samples=400, centers=4, n_features=5, cluster_std=1.5, random_state=seed)
    return X, y


def test_planted_flips_found_and_summarised() -> None:
    X, y = _blobs()
    noisy, planted = _flip(y, 0.1, seed=1)
    result = LabelErrorCheck().run(Dataset(X=X, y=noisy, source="train.csv"))

    flagged = {
        int(k)
        for k, v in zip(result.scores.keys, result.scores.columns["flagged"], strict=True)
        if v
    }
    precision = len(flagged & planted) / len(flagged)
    recall = len(flagged & planted) / len(planted)
    assert precision >= 0.8 and recall >= 0.8
    assert not result.passed
    assert result.metrics["error_rate"] == pytest.approx(len(flagged) / 400)
    (finding,) = result.findings
    assert finding.rule_id == "MLW-LBL-001"
    assert finding.location.path == "train.csv"
    # The top of the review list is mostly planted flips.
    top = [int(k) for k, _ in result.scores.ranked(top=20)]
    assert len(set(top) & planted) >= 18


def test_clean_labels_pass() -> None:
    X, y = _blobs()
    result = LabelErrorCheck().run(Dataset(X=X, y=y))
    assert result.passed
    assert result.findings == ()
    assert result.metrics["error_rate"] <= 0.02


def test_real_dataset_with_string_labels_and_ids() -> None:
    X, y = load_wine(return_X_y=True)
    noisy, planted = _flip(y, 0.1, seed=3)
    names = np.array(["barolo", "grignolino", "barbera"])[noisy]
    ids = np.array([f"w{i}" for i in range(len(y))])
    result = LabelErrorCheck().run(Dataset(X=X, y=names, sample_ids=ids))
    flagged = {
        k for k, v in zip(result.scores.keys, result.scores.columns["flagged"], strict=True) if v
    }
    hits = flagged & {f"w{i}" for i in planted}
    # Wine is small (178 rows): a few flips sit where the classes overlap.
    assert len(hits) >= 0.6 * len(planted) and len(hits) >= 0.8 * len(flagged)
    assert "->" in result.findings[0].evidence


def test_user_model_is_used_and_deterministic() -> None:
    X, y = _blobs(seed=2)
    noisy, planted = _flip(y, 0.08, seed=4)
    check = LabelErrorCheck(model=RandomForestClassifier(n_estimators=30, random_state=0))
    a = check.run(Dataset(X=X, y=noisy))
    b = check.run(Dataset(X=X, y=noisy))
    assert np.array_equal(a.scores.columns["score"], b.scores.columns["score"])
    flagged = {int(k) for k, v in zip(a.scores.keys, a.scores.columns["flagged"], strict=True) if v}
    assert len(flagged & planted) >= 0.7 * len(planted)


def test_neighbour_vote_ignores_self_even_with_duplicates() -> None:
    features = np.array([[0.0], [0.0], [0.0], [10.0], [10.0]])
    codes = np.array([0, 1, 1, 1, 1], dtype=np.intp)
    votes = neighbour_vote(features, codes, 2, k=2)
    # Sample 0's two nearest others are its duplicates labelled 1.
    assert votes[0, 1] > 0.9
    # Sample 1 sees sample 0 (label 0) and sample 2 (label 1): not its own vote.
    assert votes[1, 0] == pytest.approx(votes[1, 1])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (Dataset(X=np.zeros((20, 2))), "needs labels"),
        (Dataset(X=np.random.default_rng(0).normal(size=(20, 2)), y=np.zeros(20)), "same label"),
        (Dataset(X=np.zeros((12, 2)), y=np.array([0] * 10 + [1] * 2)), "at least 5"),
        (Dataset(X=np.full((20, 2), np.nan), y=np.arange(20) % 2), "NaN"),
        (Dataset(X=np.array([["a", "b"]] * 20), y=np.arange(20) % 2), "numeric"),
    ],
)
def test_unusable_input_is_refused(data: Dataset, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        LabelErrorCheck().run(data)


def test_oversized_input_is_refused_before_work() -> None:
    X = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(300_000, 2), strides=(0, 0))
    with pytest.raises(UsageError, match="limit"):
        LabelErrorCheck().run(Dataset(X=X, y=np.zeros(300_000)))


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(UsageError):
        LabelErrorCheck(cv_folds=1)
    with pytest.raises(UsageError, match="predict_proba"):
        X, y = _blobs()
        LabelErrorCheck(model=object()).run(Dataset(X=X, y=y))
