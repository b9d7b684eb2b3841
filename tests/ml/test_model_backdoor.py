"""ModelBackdoorCheck and STRIP: a digits model with a planted 3x3 trigger vs a clean one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.model_backdoor import (
    ModelBackdoorCheck,
    ReversedTriggers,
    anomaly_index,
    joint_threshold,
)
from mlwarden.ml.strip_detector import StripDetector

TARGET = 4


def _stamp(X: np.ndarray) -> np.ndarray:
    out = X.copy()
    out[:, 0, 12:15, 12:15] = 1.0  # a white 3x3 square near the bottom-right corner
    return out


def _train(X: np.ndarray, y: np.ndarray, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(256, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def setup() -> dict[str, object]:
    X, y = load_digits(return_X_y=True)
    # Digits upscaled to 16x16 so that a 3x3 trigger is a small patch, as in real images.
    X = np.kron((X / 16).reshape(-1, 1, 8, 8), np.ones((1, 1, 2, 2))).astype(np.float32)
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    rng = np.random.default_rng(0)
    poisoned = rng.choice(len(Xtr), size=120, replace=False)
    Xp, yp = Xtr.copy(), ytr.copy()
    Xp[poisoned] = _stamp(Xtr[poisoned])
    yp[poisoned] = TARGET
    return {
        "clean": _train(Xtr, ytr, 0),
        "backdoored": _train(Xp, yp, 0),
        "test": (Xte, yte),
    }


def test_planted_trigger_is_effective(setup) -> None:
    Xte, yte = setup["test"]
    model = setup["backdoored"]
    with torch.no_grad():
        stamped = model(torch.tensor(_stamp(Xte))).argmax(1).numpy()
        clean = model(torch.tensor(Xte)).argmax(1).numpy()
    assert (stamped == TARGET).mean() > 0.9  # the fixture really is backdoored
    assert (clean == yte).mean() > 0.85


def test_backdoored_model_is_flagged_with_its_target_class(setup) -> None:
    Xte, yte = setup["test"]
    result = ModelBackdoorCheck(max_samples=150).run(
        Dataset(Xte, yte, source="model.pt"), setup["backdoored"]
    )
    assert not result.passed
    flagged = [f for f in result.findings if f.rule_id == "MLW-BDM-001"]
    # The target must be flagged; a class that the poisoned model also reaches unusually
    # easily may be flagged beside it (Neural Cleanse's known secondary flags).
    assert f"class {TARGET}" in [f.location.field for f in flagged]
    assert len(flagged) <= 2
    assert all(f.location.path == "model.pt" for f in flagged)
    assert result.scores.ranked("anomaly_index", top=1)[0][0] == TARGET
    norms = result.scores.columns["trigger_l1"]
    assert norms[TARGET] < 0.5 * np.median(norms)


def test_clean_model_is_not_flagged(setup) -> None:
    Xte, yte = setup["test"]
    result = ModelBackdoorCheck(max_samples=150).run(Dataset(Xte, yte), setup["clean"])
    assert result.passed
    assert not [f for f in result.findings if f.rule_id == "MLW-BDM-001"]
    assert result.metrics["max_anomaly_index"] < 2.0


def test_strip_flags_triggered_inputs_at_serving_time(setup) -> None:
    Xte, _ = setup["test"]
    calibration, live = Xte[:300], Xte[300:]
    detector = StripDetector.fit(setup["backdoored"], calibration, false_rejection_rate=0.05)
    assert detector.flags(_stamp(live)).mean() > 0.7
    assert detector.flags(live).mean() < 0.15
    clean_detector = StripDetector.fit(setup["clean"], calibration, false_rejection_rate=0.05)
    assert clean_detector.flags(live).mean() < 0.15


def test_anomaly_index_singles_out_the_small_norm() -> None:
    norms = np.array([30.0, 28.0, 35.0, 25.0, 6.0, 32.0, 40.0, 27.0, 29.0, 31.0])
    index = anomaly_index(norms)
    assert int(np.argmax(index)) == 4 and index[4] > 2
    assert np.all(np.delete(index, 4) < 2)
    assert np.all(anomaly_index(np.full(10, 7.0)) == 0)  # identical norms: nothing stands out


def test_bad_input_raises_usage_error(setup) -> None:
    Xte, yte = setup["test"]
    with pytest.raises(UsageError, match="PyTorch"):
        ModelBackdoorCheck().run(Dataset(Xte[:20], yte[:20]), object())
    binary = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 2))
    with pytest.raises(UsageError, match="classes"):
        ModelBackdoorCheck().run(Dataset(Xte[:20]), binary)
    with pytest.raises(UsageError, match="limit"):
        ModelBackdoorCheck().run(Dataset(np.zeros((2, 3, 200, 200))), setup["clean"])


def test_reversed_trigger_can_be_inspected_and_reapplied(setup) -> None:
    Xte, yte = setup["test"]
    model = setup["backdoored"]
    model.train()  # the search must not leave the caller's mode changed
    check = ModelBackdoorCheck(max_samples=150)
    triggers = check.reverse_engineer(Dataset(Xte[:300], yte[:300]), model)
    assert model.training
    model.eval()
    assert triggers.masks.shape == (10, 1, 16, 16)
    assert triggers.patterns.shape == (10, 1, 16, 16)
    assert 1 <= triggers.steps <= check.steps
    # The target's stamp is the smallest and also flips clean digits the search never saw.
    assert int(np.argmin(triggers.l1)) == TARGET
    held_out = Xte[300:][yte[300:] != TARGET]
    with torch.no_grad():
        hits = model(torch.tensor(triggers.apply(TARGET, held_out))).argmax(1).numpy()
    assert (hits == TARGET).mean() > 0.8
    # The reported norm is the L1 norm of the returned mask.
    assert float(triggers.l1[TARGET]) == pytest.approx(
        float(triggers.masks[TARGET].sum()), rel=1e-4
    )


def test_joint_threshold_splits_the_false_alarm_rate_between_the_two_looks() -> None:
    assert joint_threshold(2.0, looks=1) == pytest.approx(2.0)
    assert joint_threshold(2.0) == pytest.approx(2.28, abs=0.01)
    assert joint_threshold(3.0) > joint_threshold(2.0)
    assert joint_threshold(40.0) == 40.0  # far tail: no overflow, no lower cut-off


def _decide(norms: np.ndarray, strip: np.ndarray) -> tuple[list[int], dict[str, float]]:
    """Run only the decision step on per-class trigger norms and STRIP entropies."""
    k = len(norms)
    triggers = ReversedTriggers(
        masks=np.zeros((k, 1, 4, 4), dtype=np.float32),
        patterns=np.zeros((k, 1, 4, 4), dtype=np.float32),
        l1=norms.astype(np.float64),
        success=np.ones(k),
        steps=1,
    )
    result = ModelBackdoorCheck()._result("model.pt", triggers, strip.astype(np.float64))
    fields = [f.location.field for f in result.findings if f.rule_id == "MLW-BDM-001"]
    return sorted(int(f.split()[1]) for f in fields), dict(result.metrics)


def test_strip_evidence_decides_where_the_trigger_size_is_ambiguous() -> None:
    # A planted target whose reversed trigger is only moderately small (size index below the
    # cut-off) but whose stamped inputs stay confident under STRIP blending is flagged; a
    # class whose stamp is a bit small but blends like any other is not.
    norms = np.array([30.0, 33.0, 26.0, 17.0, 28.0, 29.0, 36.0, 32.0, 19.5, 31.0])
    strip = np.array([0.41, 0.48, 0.47, 0.40, 0.51, 0.43, 0.52, 0.43, 0.11, 0.42])
    index = anomaly_index(norms)
    cutoff = joint_threshold(2.0)
    assert 2.0 < index[3] < cutoff  # the size index alone would flag class 3 ...
    assert index[8] < 2.0  # ... and miss the target 8
    flagged, metrics = _decide(norms, strip)
    assert flagged == [8]
    assert metrics["decision_threshold"] == pytest.approx(cutoff)
    assert metrics["max_strip_index"] > cutoff
    # A clear size outlier is flagged whatever STRIP says.
    norms[4] = 4.0
    assert _decide(norms, strip)[0] == [4, 8]
