"""DriftCheck: planted shifts are found, quiet windows stay quiet at the stated rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.monitor import DriftCheck, ReferenceProfile, profile_from_json
from mlwarden.monitor.stat_tests import cauchy_combination, rank_location_scale

Sampler = Callable[..., Dataset]


def alarm_rate(check: DriftCheck, make: Sampler, windows: int, seed: int, **shift: Any) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([not check.run(make(rng, 500, **shift)).passed for _ in range(windows)]))


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "bh"])
def test_false_alarm_rate_is_at_most_alpha_on_unshifted_windows(
    profile: ReferenceProfile, make_window: Sampler, correction: str
) -> None:
    check = DriftCheck(profile, alpha=0.05, correction=correction)  # type: ignore[arg-type]
    rate = alarm_rate(check, make_window, 200, seed=11)
    # Binomial(200, 0.05) exceeds 0.08 with probability < 3%: a miscalibrated test
    # (e.g. uncorrected per-feature tests, ~30% here) fails this clearly.
    assert rate <= 0.08


def test_uncorrected_tests_would_false_alarm(
    profile: ReferenceProfile, make_window: Sampler
) -> None:
    """The correction is what keeps the rate down: alpha 0.05 for each of the 8 rows (7
    features and the joint tests) without it alarms far more often. Guards against a
    correction that does nothing."""
    check = DriftCheck(profile, alpha=0.05, correction="holm")
    rng = np.random.default_rng(5)
    raw_alarms = 0
    for _ in range(100):
        result = check.run(make_window(rng, 500))
        raw_alarms += bool((np.asarray(result.scores.columns["p_value"]) < 0.05).any())
    assert raw_alarms / 100 > 0.2


@pytest.mark.parametrize(
    ("shift", "field"),
    [
        ({"mean": 0.4}, "f0"),
        ({"scale": 1.4}, "f1"),
        ({"colours": (0.35, 0.45, 0.2)}, "colour"),
        ({"rho": 0.6}, "<joint>"),
    ],
)
def test_planted_shift_is_detected_and_named(
    profile: ReferenceProfile, make_window: Sampler, shift: dict[str, Any], field: str
) -> None:
    check = DriftCheck(profile)
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(20):
        result = check.run(make_window(rng, 500, **shift))
        hits += any(f.location.field == field for f in result.findings)
    assert hits >= 18


def test_rank_tests_find_scale_shifts_that_ks_alone_misses(
    profile: ReferenceProfile, make_window: Sampler
) -> None:
    """A 15% narrower feature barely moves the KS distance; the rank scale test sees it."""
    ks_only = DriftCheck(profile, tests=("ks",))
    ranks = DriftCheck(profile, tests=("ks", "rank"))
    assert alarm_rate(ks_only, make_window, 40, seed=3, scale=0.85) <= 0.3
    assert alarm_rate(ranks, make_window, 40, seed=3, scale=0.85) >= 0.8


def test_finding_lists_every_test_of_the_feature(
    profile: ReferenceProfile, make_window: Sampler
) -> None:
    result = DriftCheck(profile).run(make_window(np.random.default_rng(1), 500, scale=1.6))
    finding = next(f for f in result.findings if f.location.field == "f1")
    for name in ("ks", "rank-location", "rank-scale", "psi", "combined adjusted p"):
        assert name in finding.evidence


def test_cauchy_combination_of_agreeing_and_silent_tests() -> None:
    assert cauchy_combination([]) == 1.0
    assert cauchy_combination([0.03]) == 0.03
    # Tests that agree keep their p-value instead of paying a Bonferroni factor.
    assert cauchy_combination([0.01, 0.01, 0.01]) == pytest.approx(0.01, rel=1e-6)
    # One clear rejection costs about the group size, even next to p = 1.
    assert cauchy_combination([1e-8, 1.0, 1.0, 1.0]) == pytest.approx(4e-8, rel=1e-3)
    assert cauchy_combination([1e-300, 0.5]) > 0.0
    assert 0.5 < cauchy_combination([0.9, 0.95, 1.0]) <= 1.0


def test_cauchy_combination_is_calibrated_for_dependent_tests() -> None:
    """Three correlated two-sided z-tests: the combined p-value rejects at about its level."""
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(20_000)
    z = 0.8 * shared[:, None] + 0.6 * rng.standard_normal((20_000, 3))
    from scipy import special

    p = 2 * special.ndtr(-np.abs(z))
    combined = np.array([cauchy_combination(list(row)) for row in p])
    for level in (0.05, 0.005):
        # Binomial sd at 0.005 is 0.0005: a rate outside [0.6, 1.5] x level is a real error.
        assert 0.6 * level <= np.mean(combined < level) <= 1.5 * level


@pytest.mark.parametrize("kind", ["continuous", "counts", "binary"])
def test_rank_tests_are_calibrated_with_and_without_ties(kind: str) -> None:
    """Null moments come from the reference itself, so heavy ties keep the level."""
    rng = np.random.default_rng(1)

    def draw(n: int) -> npt.NDArray[np.float64]:
        if kind == "counts":
            return rng.poisson(2.0, n).astype(np.float64)
        if kind == "binary":
            return (rng.random(n) < 0.2).astype(np.float64)
        return rng.lognormal(0.0, 1.5, n)

    rejections = np.zeros(2)
    windows = 600
    for _ in range(windows):
        reference = np.sort(draw(5_000))
        (_, p_location), (_, p_scale) = rank_location_scale(reference, 5_000, draw(300))
        rejections += np.array([p_location, p_scale]) < 0.05
    # Binomial(600, 0.05) sd is 0.009: 0.085 is beyond four sds.
    assert np.all(rejections / windows <= 0.085)


def test_rank_tests_of_a_constant_reference_say_nothing() -> None:
    reference = np.zeros(100)
    assert rank_location_scale(reference, 100, np.ones(50)) == ((0.0, 1.0), (0.0, 1.0))


def test_correlation_change_is_invisible_to_marginal_tests(
    profile: ReferenceProfile, make_window: Sampler
) -> None:
    marginal = DriftCheck(profile, tests=("ks", "chi2", "psi"))
    joint = DriftCheck(profile, tests=("mmd", "c2st"))
    assert alarm_rate(marginal, make_window, 20, seed=4, rho=0.6) <= 0.15
    assert alarm_rate(joint, make_window, 20, seed=4, rho=0.6) >= 0.9


def test_result_shape_and_metrics(profile: ReferenceProfile, make_window: Sampler) -> None:
    result = DriftCheck(profile).run(make_window(np.random.default_rng(1), 500, mean=1.0))
    assert not result.passed
    finding = next(f for f in result.findings if f.location.field == "f0")
    assert finding.rule_id == "MLW-MON-001"
    assert finding.location.path == "window.csv"
    assert "ks" in finding.evidence and "adjusted p" in finding.evidence
    keys = list(result.scores.keys)
    assert keys[:7] == [*profile.names] and "<joint>" in keys
    assert result.scores.ranked()[0][0] == "f0"
    assert result.metrics["drifted_features"] >= 1


def test_deterministic_given_random_state(profile: ReferenceProfile, make_window: Sampler) -> None:
    window = make_window(np.random.default_rng(2), 300, rho=0.3)
    a = DriftCheck(profile, random_state=1).run(window)
    b = DriftCheck(profile, random_state=1).run(window)
    assert np.array_equal(a.scores.columns["p_adjusted"], b.scores.columns["p_adjusted"])


def test_profile_survives_json_round_trip(profile: ReferenceProfile, make_window: Sampler) -> None:
    loaded = profile_from_json(profile.to_json())
    window = make_window(np.random.default_rng(9), 500, rho=0.5)
    a = DriftCheck(profile).run(window)
    b = DriftCheck(loaded).run(window)
    assert np.allclose(a.scores.columns["p_adjusted"], b.scores.columns["p_adjusted"])


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": "mlwarden-reference-profile", "version": 1, "features": []}',
        '{"format": "something-else"}',
    ],
)
def test_bad_profile_json_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        profile_from_json(text, source="p.json")


def test_tampered_profile_shapes_are_refused(profile: ReferenceProfile) -> None:
    import json

    doc = json.loads(profile.to_json())
    doc["joint"]["rff_weights"] = doc["joint"]["rff_weights"][:-1]
    with pytest.raises(UsageError, match="shapes"):
        profile_from_json(json.dumps(doc), source="p.json")


def test_unusable_windows_are_usage_errors(profile: ReferenceProfile, make_window: Sampler) -> None:
    check = DriftCheck(profile)
    with pytest.raises(UsageError, match="rows"):
        check.run(make_window(np.random.default_rng(0), 3))
    window = make_window(np.random.default_rng(0), 100)
    with pytest.raises(UsageError, match="lacks features"):
        check.run(Dataset(X=window.X[:, :3], feature_names=window.names[:3]))
    text = window.X.copy()
    text[:, 0] = "abc"
    with pytest.raises(UsageError, match="non-numbers"):
        check.run(Dataset(X=text, feature_names=window.names))


def test_bad_configuration_is_refused(profile: ReferenceProfile) -> None:
    with pytest.raises(UsageError):
        DriftCheck(profile, alpha=1.5)
    with pytest.raises(UsageError):
        DriftCheck(profile, tests=("t-test",))
    with pytest.raises(UsageError):
        DriftCheck(profile, correction="none")  # type: ignore[arg-type]


def test_tiny_reference_is_refused() -> None:
    with pytest.raises(UsageError, match="fewer than"):
        ReferenceProfile.fit(Dataset(X=np.zeros((5, 2))))
