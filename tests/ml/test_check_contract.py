"""Every data, model and monitoring check honours the one call shape of ``ml/base.py``.

A user who learned one check knows them all: a frozen configuration, ``name``, ``rules``,
``run(data, model=None) -> CheckResult`` whose findings use the check's own rules, whose
score table is rectangular, and which gives the same answer twice for the same seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlwarden.ml.base import Check, CheckResult, Dataset


def _wine() -> Dataset:
    data = load_wine()
    return Dataset(X=data.data, y=data.target, feature_names=tuple(data.feature_names))


def _model(data: Dataset) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.X, data.y)


def _probabilities(data: Dataset) -> Dataset:
    probs = _model(data).predict_proba(data.X)
    principals = np.array([f"user{i % 3}" for i in range(len(probs))])
    return Dataset(X=probs, sample_ids=principals)


def _policy() -> Any:
    from mlwarden.ml.approved_sources import SourcePolicy

    return SourcePolicy.of(["s3://corp-data/"])


def _manifest() -> Dataset:
    from mlwarden.ml.provenance import DatasetFile, manifest

    return manifest(
        [
            DatasetFile("approved.csv", "0" * 64, "s3://corp-data/approved.csv"),
            DatasetFile("elsewhere.csv", "1" * 64, "https://elsewhere.example/x.csv"),
            DatasetFile("unclaimed.csv", "2" * 64),
        ]
    )


def _cases() -> dict[str, Callable[[Dataset], tuple[Check, Dataset, Any]]]:
    from mlwarden.ml.data_integrity import (
        DuplicateConflictCheck,
        TargetLeakageCheck,
        TrainTestLeakageCheck,
    )
    from mlwarden.ml.data_schema import ClassBalanceCheck, SchemaCheck
    from mlwarden.ml.label_errors import LabelErrorCheck
    from mlwarden.ml.poisoning import BackdoorDataCheck, LabelFlipCheck
    from mlwarden.ml.provenance import ProvenanceCheck
    from mlwarden.ml.robustness import RobustnessCheck
    from mlwarden.ml.validation_gate import ValidationGateCheck
    from mlwarden.monitor.drift_check import DriftCheck
    from mlwarden.monitor.extraction_check import ExtractionCheck
    from mlwarden.monitor.ood_check import OutOfDistributionCheck
    from mlwarden.monitor.output_check import OutputShiftCheck
    from mlwarden.monitor.profile import ReferenceProfile

    def profile(d: Dataset) -> Any:
        return ReferenceProfile.fit(d, random_state=0)

    def output_profile(d: Dataset) -> Any:
        return ReferenceProfile.fit(d, probabilities=_model(d).predict_proba(d.X), random_state=0)

    return {
        "label-errors": lambda d: (LabelErrorCheck(random_state=0), d, None),
        "duplicates": lambda d: (DuplicateConflictCheck(), d, None),
        "target-leakage": lambda d: (TargetLeakageCheck(random_state=0), d, None),
        "train-test": lambda d: (TrainTestLeakageCheck(test=d), d, None),
        "schema": lambda d: (SchemaCheck(reference=d), d, None),
        "class-balance": lambda d: (ClassBalanceCheck(reference=d), d, None),
        "label-flips": lambda d: (LabelFlipCheck(random_state=0), d, None),
        "backdoor-data": lambda d: (BackdoorDataCheck(random_state=0), d, _model(d)),
        "robustness": lambda d: (
            RobustnessCheck(
                attacks=(),
                epsilons=(0.0, 0.1),
                max_samples=10,
                black_box_queries=200,
                random_state=0,
            ),
            d,
            _model(d),
        ),
        "provenance": lambda d: (ProvenanceCheck(policy=_policy()), _manifest(), None),
        "validation-gate": lambda d: (
            ValidationGateCheck(baseline_model=_model(d), min_accuracy=0.9, max_ece=0.2),
            d,
            _model(d),
        ),
        "drift": lambda d: (DriftCheck(profile(d), random_state=0), d, None),
        "out-of-distribution": lambda d: (OutOfDistributionCheck(profile(d)), d, None),
        "output-shift": lambda d: (OutputShiftCheck(output_profile(d)), _probabilities(d), None),
        "extraction": lambda d: (ExtractionCheck(), _probabilities(d), None),
    }


CASES = _cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_follows_the_call_shape(case: str) -> None:
    check, data, model = CASES[case](_wine())
    assert dataclasses.is_dataclass(check)
    first_field = dataclasses.fields(check)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(check, first_field, None)
    assert isinstance(check.name, str) and check.name
    rule_ids = {rule.id for rule in check.rules}
    assert rule_ids, "a check declares the rules it can report"

    result = check.run(data, model)
    assert isinstance(result, CheckResult)
    assert result.check == check.name
    assert isinstance(result.passed, bool)
    assert {f.rule_id for f in result.findings} <= rule_ids
    keys = result.scores.keys
    assert all(len(column) == len(keys) for column in result.scores.columns.values())
    assert all(isinstance(value, float) for value in result.metrics.values())

    again = check.run(data, model)
    assert [f.evidence for f in again.findings] == [f.evidence for f in result.findings]
    assert again.passed == result.passed
