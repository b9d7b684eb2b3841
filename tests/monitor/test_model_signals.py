"""Output shift, confidence collapse, out-of-distribution scores, extraction patterns."""

from __future__ import annotations

import numpy as np
import pytest

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.monitor import ReferenceProfile
from mlwarden.monitor.extraction_check import ExtractionCheck
from mlwarden.monitor.ood_check import OutOfDistributionCheck
from mlwarden.monitor.output_check import OutputShiftCheck


def probabilities(rng: np.random.Generator, n: int, sharpness: float) -> np.ndarray:
    logits = rng.standard_normal((n, 3)) * sharpness
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def output_profile() -> ReferenceProfile:
    rng = np.random.default_rng(0)
    data = Dataset(X=rng.standard_normal((5000, 3)))
    return ReferenceProfile.fit(data, probabilities=probabilities(rng, 5000, 3.0))


def test_confidence_collapse_is_reported(output_profile: ReferenceProfile) -> None:
    check = OutputShiftCheck(output_profile)
    rng = np.random.default_rng(1)
    quiet = [check.run(Dataset(X=probabilities(rng, 500, 3.0))).passed for _ in range(300)]
    # False alarms at about alpha: Binomial(300, 0.05) exceeds 24 with probability ~1%.
    assert sum(quiet) >= 276
    result = check.run(Dataset(X=probabilities(rng, 500, 1.0)))
    assert "MLW-MON-004" in {f.rule_id for f in result.findings}


def test_prediction_shift_is_reported(output_profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(2)
    probs = probabilities(rng, 500, 3.0)
    probs[:150] = probs[:150, [2, 0, 1]] * 0 + np.array([0.9, 0.05, 0.05])
    result = OutputShiftCheck(output_profile).run(Dataset(X=probs))
    assert any(f.location.field == "<prediction>" for f in result.findings)


def test_drift_check_tests_model_outputs(output_profile: ReferenceProfile) -> None:
    from mlwarden.monitor import DriftCheck

    class Unsure:
        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return np.full((X.shape[0], 3), 1 / 3)

    window = Dataset(X=np.random.default_rng(3).standard_normal((400, 3)))
    result = DriftCheck(output_profile).run(window, model=Unsure())
    assert "MLW-MON-004" in {f.rule_id for f in result.findings}
    with pytest.raises(UsageError, match="predict_proba"):
        DriftCheck(output_profile).run(window, model=object())


def test_ood_flags_planted_outliers_and_not_clean_rows() -> None:
    rng = np.random.default_rng(4)
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    profile = ReferenceProfile.fit(Dataset(X=rng.multivariate_normal(np.zeros(3), cov, 4000)))
    check = OutOfDistributionCheck(profile)
    clean = [
        check.run(Dataset(X=rng.multivariate_normal(np.zeros(3), cov, 500))) for _ in range(100)
    ]
    assert sum(r.passed for r in clean) >= 91
    window = rng.multivariate_normal(np.zeros(3), cov, 500)
    # Off the correlation axis: unremarkable per feature, far in Mahalanobis terms.
    window[:25, :2] = np.column_stack([np.full(25, 2.0), np.full(25, -2.0)])
    window[499] = [40.0, -40.0, 0.0]
    result = check.run(Dataset(X=window))
    rules = {f.rule_id for f in result.findings}
    assert {"MLW-MON-005", "MLW-MON-006"} <= rules
    top = {key for key, _ in result.scores.ranked(top=26)}
    assert set(range(25)) | {499} == top


def test_extraction_principal_is_found_among_honest_ones() -> None:
    rng = np.random.default_rng(5)
    honest = probabilities(rng, 3000, 3.0)
    principals = rng.choice(np.array([f"user{i}" for i in range(30)]), size=3000)
    top = rng.uniform(0.40, 0.45, 200)
    attacker = np.column_stack([top, top - rng.uniform(0, 0.05, 200), np.zeros(200)])
    attacker[:, 2] = 1 - attacker[:, 0] - attacker[:, 1]
    X = np.vstack([honest, attacker])
    ids = np.concatenate([principals, np.full(200, "mallory")])
    result = ExtractionCheck().run(Dataset(X=X, sample_ids=ids))
    assert [f.location.field for f in result.findings] == ["principal mallory"]
    quiet = ExtractionCheck().run(Dataset(X=honest, sample_ids=principals))
    assert quiet.passed


def test_extraction_needs_principals() -> None:
    with pytest.raises(UsageError, match="principal"):
        ExtractionCheck().run(Dataset(X=np.full((10, 2), 0.5)))
