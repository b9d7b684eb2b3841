"""`mlwarden.safe_load`: loads clean files with restricted loaders, refuses the rest."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import mlwarden
from mlwarden.errors import UnsafeModelError, UsageError
from mlwarden.loading import RestrictedUnpickler
from mlwarden.scanners.model.pickle_policy import PicklePolicy


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_clean_models_load_with_their_values(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    torch = pytest.importorskip("torch")
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(30, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    joblib.dump(model, tmp_path / "m.joblib", compress=3)
    loaded = mlwarden.safe_load(str(tmp_path / "m.joblib"))
    assert (loaded.predict(x) == model.predict(x)).all()

    state = torch.nn.Linear(3, 2).state_dict()
    torch.save(state, tmp_path / "w.pt")
    assert torch.equal(mlwarden.safe_load(str(tmp_path / "w.pt"))["weight"], state["weight"])

    np.save(tmp_path / "a.npy", np.arange(4))
    assert mlwarden.safe_load(str(tmp_path / "a.npy")).tolist() == [0, 1, 2, 3]


def test_malicious_file_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(UnsafeModelError) as err:
        mlwarden.safe_load(str(path))
    assert err.value.findings[0].rule_id == "MLW-PKL-001"
    assert not marker.exists()


def test_restricted_unpickler_refuses_even_if_the_scan_threshold_is_lax(tmp_path: Path) -> None:
    import io

    marker = tmp_path / "MARKER"
    with pytest.raises(pickle.UnpicklingError):
        RestrictedUnpickler(io.BytesIO(pickle.dumps(_Payload(marker))), PicklePolicy()).load()
    assert not marker.exists()


def test_formats_without_a_safe_loader_are_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(UsageError):
        mlwarden.safe_load(str(path))
