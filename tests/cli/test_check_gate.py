"""`mlwarden check gate` as a user runs it across model versions: the first version records
its metrics, an equal version passes, a regressed one exits 1 and does not overwrite the
baseline, and a malformed baseline exits 2 naming the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_scan_command import run


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 and an identically trained v2, v3 trained on shuffled labels, a held-out table."""
    root = tmp_path_factory.mktemp("gate")
    data = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    shuffled = np.random.default_rng(0).permutation(y_tr)
    for name, labels in (("v1", y_tr), ("v2", y_tr), ("v3", shuffled)):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        joblib.dump(model.fit(X_tr, labels), root / f"{name}.joblib")
    with (root / "heldout.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*data.feature_names, "target"])
        writer.writerows([*row, int(label)] for row, label in zip(X_te, y_te, strict=True))
    return root


def _gate(root: Path, model: str, *extra: str) -> tuple[int, str, str]:
    result = run(
        *("check", "gate", str(root / model), "--data", str(root / "heldout.csv")),
        *("--label", "target", *extra),
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_versions_through_the_gate(versions: Path, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    code, _, err = _gate(versions, "v1.joblib", "--write-metrics", str(metrics))
    assert code == 0, err
    recorded = json.loads(metrics.read_text())
    assert recorded["metrics"]["accuracy"] > 0.9
    assert set(recorded["per_class_recall"]) == {"0", "1"}

    code, _, err = _gate(versions, "v2.joblib", "--baseline", str(metrics))
    assert code == 0, err

    before = metrics.read_bytes()
    code, out, err = _gate(
        versions,
        "v3.joblib",
        *("--baseline", str(metrics), "--write-metrics", str(metrics), "--format", "json"),
    )
    assert code == 1, err
    assert [f["rule_id"] for f in json.loads(out)["findings"]] == ["MLW-GATE-003"]
    assert "NOT written" in err
    assert metrics.read_bytes() == before  # a rejected model does not become the new bar


def test_the_previous_model_can_be_the_baseline(versions: Path) -> None:
    code, _, err = _gate(versions, "v3.joblib", "--baseline-model", str(versions / "v1.joblib"))
    assert code == 1, err
    code, _, err = _gate(versions, "v2.joblib", "--baseline-model", str(versions / "v1.joblib"))
    assert code == 0, err


def test_malformed_baseline_exits_2_naming_the_file(versions: Path, tmp_path: Path) -> None:
    broken = tmp_path / "baseline.json"
    broken.write_text('{"format": "mlwarden-gate-metrics/1", "metrics": ')
    code, _, err = _gate(versions, "v2.joblib", "--baseline", str(broken))
    assert code == 2
    assert f"{broken}: is not valid JSON" in err
    assert "--write-metrics" in err


def test_nothing_to_gate_against_is_a_usage_error(versions: Path) -> None:
    code, _, err = _gate(versions, "v1.joblib")
    assert code == 2
    assert "--baseline" in err
