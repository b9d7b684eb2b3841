"""Every scikit-learn estimator, fitted and pickled, scans clean (no finding at medium+)."""

from __future__ import annotations

import pickle
import warnings

import pytest

from mlwarden.engine import scan_blob
from mlwarden.findings import Location, Severity
from mlwarden.scanners.base import Blob, ScanSettings


def _fitted_estimators() -> list[tuple[str, object]]:
    np = pytest.importorskip("numpy")
    utils = pytest.importorskip("sklearn.utils")
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(60, 4)))
    targets = ((x[:, 0] > 0.8).astype(int), x[:, 1], None)
    fitted = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls in utils.all_estimators():
            try:
                estimator = cls()
            except TypeError:
                continue  # needs constructor arguments (meta-estimators)
            for y in targets:
                try:
                    estimator.fit(x) if y is None else estimator.fit(x, y)
                except Exception:
                    continue
                fitted.append((name, estimator))
                break
    return fitted


def test_fitted_estimators_pickle_clean() -> None:
    fitted = _fitted_estimators()
    assert len(fitted) > 100
    noisy = []
    for name, estimator in fitted:
        data = pickle.dumps(estimator, protocol=4)
        findings, _, _ = scan_blob(Blob(data, Location(name), f"{name}.pkl"), ScanSettings())
        flagged = [(f.rule_id, f.title) for f in findings if f.severity >= Severity.MEDIUM]
        if flagged:
            noisy.append(f"{name}: {flagged}")
    assert not noisy, "\n".join(noisy)
