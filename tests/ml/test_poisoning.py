"""Poisoning and backdoor checks: planted problems are found, clean data stays quiet."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.poisoning import (
    BACKDOOR_CLUSTER,
    LABEL_FLIP_CLUSTER,
    BackdoorDataCheck,
    LabelFlipCheck,
    exclusion_relabel_fraction,
    suspicious_by_class,
)

torch = pytest.importorskip("torch")

TARGET = 0


def poisoned_digits(rate: float, seed: int = 0) -> tuple[Any, Any, Any]:
    """Digits with a 3x3 bright trigger in the bottom-right corner on ``rate`` of the samples,
    taken from other classes and relabelled to TARGET."""
    digits = load_digits()
    images = digits.images.copy()
    labels = digits.target.copy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(np.flatnonzero(labels != TARGET), round(rate * len(labels)), False)
    images[idx, 5:8, 5:8] = 16.0
    labels[idx] = TARGET
    planted = np.zeros(len(labels), dtype=bool)
    planted[idx] = True
    return images.reshape(len(labels), -1) / 16.0, labels, planted


_MODELS: dict[tuple[float, int], Any] = {}


def trained_mlp(X: Any, y: Any, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y)
    for _ in range(300):  # full batch: deterministic and about a second on one core
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net


def digits_case(rate: float, seed: int) -> tuple[Any, Any, Any, Any]:
    """Poisoned digits and the model trained on them, trained once per (rate, seed)."""
    X, y, planted = poisoned_digits(rate, seed)
    if (rate, seed) not in _MODELS:
        _MODELS[(rate, seed)] = trained_mlp(X, y, seed)
    return X, y, planted, _MODELS[(rate, seed)]


@pytest.mark.parametrize(
    ("rate", "seed", "min_f1"),
    [(0.01, 0, 0.9), (0.01, 1, 0.9), (0.05, 0, 0.9), (0.05, 2, 0.9), (0.10, 1, 0.9)],
)
def test_backdoor_is_found_in_the_target_class(rate: float, seed: int, min_f1: float) -> None:
    X, y, planted, net = digits_case(rate, seed)
    result = BackdoorDataCheck(random_state=seed).run(Dataset(X=X, y=y, source="d.npz"), net)
    flagged = np.asarray(result.scores.columns["flagged"], dtype=bool)
    tp = int((flagged & planted).sum())
    f1 = 2 * tp / (flagged.sum() + planted.sum())
    assert not result.passed
    assert f1 >= min_f1
    assert [f.location.field for f in result.findings] == [str(TARGET)]
    assert result.findings[0].rule_id == BACKDOOR_CLUSTER.id
    assert list(suspicious_by_class(result, y)) == [TARGET]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_digits_pass_and_flag_at_most_2_percent(seed: int) -> None:
    X, y, _, net = digits_case(0.0, seed)
    result = BackdoorDataCheck(random_state=seed).run(Dataset(X=X, y=y), net)
    assert result.passed
    assert result.metrics["flag_rate"] <= 0.02
    assert all(f.rule_id != BACKDOOR_CLUSTER.id for f in result.findings)


def test_finding_names_the_trigger_features() -> None:
    X, y, _, net = digits_case(0.05, 0)
    result = BackdoorDataCheck(random_state=0).run(Dataset(X=X, y=y), net)
    # The trigger covers rows 5-7, columns 5-7 of the 8x8 image: flattened 45-47, 53-55, 61-63.
    trigger = {8 * r + c for r in range(5, 8) for c in range(5, 8)}
    evidence = result.findings[0].evidence
    named = evidence.split("input features ")[1].split(",")[:3]
    assert {int(n.strip().lstrip("#")) for n in named} <= trigger


@pytest.mark.parametrize(("rate", "seed"), [(0.01, 0), (0.02, 1), (0.05, 4)])
def test_a_single_stamped_pixel_is_found(rate: float, seed: int) -> None:
    # One corner pixel set to full ink: a trigger the mean over three features dilutes,
    # caught by the single-feature look.
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.copy()
    rng = np.random.default_rng(seed)
    poison = rng.choice(np.flatnonzero(y != TARGET), round(rate * len(y)), replace=False)
    X[poison, 63] = 1.0
    y[poison] = TARGET
    feats = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)[0][:, :20]
    result = BackdoorDataCheck(features=feats).run(Dataset(X=X, y=y))
    flagged = np.flatnonzero(np.asarray(result.scores.columns["flagged"], dtype=bool))
    tp = len(set(flagged) & set(poison))
    assert 2 * tp / (len(flagged) + len(poison)) >= 0.9
    assert [f.location.field for f in result.findings] == [str(TARGET)]


def test_shift_shared_by_a_whole_class_is_no_trigger() -> None:
    # Class 0 lies to one side of every other class: all its samples differ from their
    # nearest other-class neighbours alike. That is the class, not a stamped pattern.
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(4 * c, 1.0, size=(150, 6)) for c in range(5)])
    y = np.repeat(np.arange(5), 150)
    result = BackdoorDataCheck(features=X, random_state=0).run(Dataset(X=X, y=y))
    assert result.passed


def test_triggered_group_is_relabelled_and_a_clean_group_is_not() -> None:
    X, y, planted = poisoned_digits(0.05, 0)
    poison = np.flatnonzero(planted)
    assert exclusion_relabel_fraction(X, y, poison) > 0.5
    # Clean zeros, held out, are still zeros to a model trained on the rest.
    zeros = np.flatnonzero((y == TARGET) & ~planted)[:40]
    assert exclusion_relabel_fraction(X, y, zeros) < 0.2


def test_precomputed_features_and_pipeline_give_the_same_answer() -> None:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(3)
    n_per, dim = 150, 12
    X = np.concatenate([rng.normal(3 * c, 1.0, size=(n_per, dim)) for c in range(6)])
    # Three features carry no class information, like an image's corner.
    X[:, :3] = rng.normal(0.0, 1.0, size=(X.shape[0], 3))
    y = np.repeat(np.arange(6), n_per)
    # A dirty-label backdoor: 30 samples of other classes, stamped with one pattern on those
    # three features and relabelled as class 2.
    poison = rng.choice(np.flatnonzero(y != 2), 30, replace=False)
    X[poison, :3] = 6.0
    y[poison] = 2
    pipe = make_pipeline(PCA(n_components=dim), LogisticRegression(max_iter=200)).fit(X, y)
    by_model = BackdoorDataCheck().run(Dataset(X=X, y=y), pipe)
    by_feats = BackdoorDataCheck(features=pipe[:-1].transform(X)).run(Dataset(X=X, y=y))
    for result in (by_model, by_feats):
        flagged = np.flatnonzero(np.asarray(result.scores.columns["flagged"], dtype=bool))
        assert set(flagged) == set(poison)
        assert not result.passed


def test_backdoor_check_refuses_unusable_input() -> None:
    X = np.zeros((50, 4))
    with pytest.raises(UsageError, match="needs labels"):
        BackdoorDataCheck(features=X).run(Dataset(X=X))
    with pytest.raises(UsageError, match="needs a representation"):
        BackdoorDataCheck().run(Dataset(X=X, y=np.zeros(50)))
    with pytest.raises(UsageError, match="one row per sample"):
        BackdoorDataCheck(features=np.zeros((49, 4))).run(Dataset(X=X, y=np.zeros(50)))
    with pytest.raises(UsageError, match="neither a PyTorch"):
        BackdoorDataCheck().run(Dataset(X=X, y=np.zeros(50)), object())


def blobs(seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(5, 8))
    X = np.concatenate([rng.normal(c, 1.0, size=(120, 8)) for c in centres])
    return X, np.repeat(np.arange(5), 120)


def test_label_flips_into_one_class_are_found() -> None:
    X, y = blobs()
    flipped = np.flatnonzero(y == 1)[:25]
    y = y.copy()
    y[flipped] = 4
    result = LabelFlipCheck().run(Dataset(X=X, y=y, source="t.csv"))
    flagged = np.flatnonzero(np.asarray(result.scores.columns["flagged"], dtype=bool))
    # Flipped samples that sit among each other keep a few same-label neighbours, so not
    # every one is caught; none of the correctly labelled samples may be.
    assert set(flagged) <= set(flipped)
    assert len(flagged) >= 0.8 * len(flipped)
    assert [f.location.field for f in result.findings] == ["4"]
    assert result.findings[0].rule_id == LABEL_FLIP_CLUSTER.id
    assert not result.passed


def test_clean_labels_and_scattered_noise_pass() -> None:
    X, y = blobs(1)
    assert LabelFlipCheck().run(Dataset(X=X, y=y)).passed
    # One flip per class is noise, not an attack on one class.
    y = y.copy()
    for c in range(5):
        y[np.flatnonzero(y == c)[0]] = (c + 1) % 5
    assert LabelFlipCheck().run(Dataset(X=X, y=y)).passed
