"""RobustnessCheck: white-box curves on a digits MLP, black-box HopSkipJump on scikit-learn."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.decision_attack import HopSkipJump, minimal_perturbations
from mlwarden.ml.robustness import RobustnessCheck
from mlwarden.ml.robustness_plot import plot_robustness


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def mlp(digits: tuple[np.ndarray, np.ndarray]) -> torch.nn.Module:
    X, y = digits
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt, yt = torch.tensor(X[:1200]), torch.tensor(y[:1200])
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return model


def _curve(result, attack: str) -> list[float]:
    rows = [r for r in result.scores.to_rows() if r["attack"] == attack]
    return [r["robust_accuracy"] for r in sorted(rows, key=lambda r: r["epsilon"])]


def test_robust_accuracy_drops_with_epsilon_and_pgd_is_stronger(digits, mlp) -> None:
    X, y = digits
    check = RobustnessCheck(epsilons=(0.0, 0.03, 0.1, 0.2), max_samples=300)
    result = check.run(Dataset(X[1200:], y[1200:]), mlp)
    fgsm, pgd = _curve(result, "fgsm"), _curve(result, "pgd")
    assert fgsm[0] == pgd[0] > 0.85  # eps 0 is the clean accuracy
    assert all(a >= b for a, b in itertools.pairwise(fgsm))
    assert all(a >= b for a, b in itertools.pairwise(pgd))
    assert fgsm[-1] < 0.5 * fgsm[0]
    assert all(p <= f for p, f in zip(pgd, fgsm, strict=True))
    assert pgd[2] < fgsm[2]  # at a mid budget the iterative attack finds strictly more
    assert result.passed and not result.findings  # no floor configured, no masking
    assert result.metrics["samples"] == 300


def test_floor_turns_weak_budgets_into_findings(digits, mlp) -> None:
    X, y = digits
    result = RobustnessCheck(epsilons=(0.0, 0.2), floor=0.5, max_samples=200).run(
        Dataset(X[1200:], y[1200:], source="digits.csv"), mlp
    )
    assert not result.passed
    fields = {f.location.field for f in result.findings if f.rule_id == "MLW-ROB-001"}
    assert fields == {"fgsm@0.2", "pgd@0.2"}
    assert all(f.location.path == "digits.csv" for f in result.findings)
    quiet = RobustnessCheck(epsilons=(0.0, 0.01), floor=0.5, max_samples=200).run(
        Dataset(X[1200:], y[1200:]), mlp
    )
    assert quiet.passed and not quiet.findings


def test_white_box_is_deterministic_and_leaves_the_model_alone(digits, mlp) -> None:
    X, y = digits
    data = Dataset(X[1200:1400], y[1200:1400])
    before = [p.detach().clone() for p in mlp.parameters()]
    mlp.train()
    a = RobustnessCheck(epsilons=(0.05,), random_state=3).run(data, mlp)
    b = RobustnessCheck(epsilons=(0.05,), random_state=3).run(data, mlp)
    assert a.metrics == b.metrics
    assert mlp.training
    mlp.eval()
    assert all(torch.equal(p, q) for p, q in zip(before, mlp.parameters(), strict=True))


def test_hopskipjump_is_an_upper_bound_close_to_the_exact_linear_margin() -> None:
    # A linear binary classifier has a known minimal L2 adversarial distance |w.x+b|/|w|.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 10))
    y = (X @ rng.normal(size=10) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    pred = clf.predict(X[:80])
    exact = np.abs(clf.decision_function(X[:80])) / np.linalg.norm(clf.coef_)
    found, queries = minimal_perturbations(
        clf.predict, X[:80], pred, (-50.0, 50.0), HopSkipJump(norm="2", max_queries=3000)
    )
    assert np.all(found >= exact * (1 - 1e-6))
    assert np.median(found / exact) < 1.1
    assert queries.max() <= 3000 + 400  # one iteration may overrun the budget


def test_black_box_attack_on_scikit_learn_model(digits) -> None:
    X, y = digits
    clf = LogisticRegression(max_iter=500).fit(X[:1200], y[:1200])
    result = RobustnessCheck(epsilons=(0.0, 0.1, 0.5), max_samples=60, floor=0.5).run(
        Dataset(X[1200:], y[1200:]), clf
    )
    curve = _curve(result, "hopskipjump")
    assert curve[0] == pytest.approx(np.mean(clf.predict(X[1200:]) == y[1200:]), abs=0.1)
    assert curve[0] > curve[1] > curve[2]
    assert curve[2] < 0.2
    assert [f.location.field for f in result.findings] == ["hopskipjump@0.5"]


def test_bad_input_raises_usage_error(digits, mlp) -> None:
    X, y = digits
    with pytest.raises(UsageError, match="labels"):
        RobustnessCheck().run(Dataset(X[:10]), mlp)
    with pytest.raises(UsageError, match="model"):
        RobustnessCheck().run(Dataset(X[:10], y[:10]))
    with pytest.raises(UsageError, match="norm"):
        RobustnessCheck(norm="1").run(Dataset(X[:10], y[:10]), mlp)
    with pytest.raises(UsageError, match="black_box"):
        RobustnessCheck(black_box=None).run(Dataset(X[:10], y[:10]), LogisticRegression())
    with pytest.raises(UsageError, match="limit"):
        RobustnessCheck().run(Dataset(np.zeros((2, 3, 300, 300)), np.zeros(2, int)), mlp)
    bad = X[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(UsageError, match="NaN"):
        RobustnessCheck().run(Dataset(bad, y[:10]), mlp)


def test_plot_writes_image_and_html(digits, mlp, tmp_path: Path) -> None:
    X, y = digits
    result = RobustnessCheck(epsilons=(0.0, 0.1), max_samples=50).run(
        Dataset(X[1200:], y[1200:]), mlp
    )
    image, page = plot_robustness(result, tmp_path / "robustness.svg")
    assert image.exists() and page.exists()
    html = page.read_text()
    assert "<svg" in html or "data:image/png;base64," in html
    assert "fgsm" in html and "pgd" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([image.name, page.name])
