"""`mlwarden check data` as a user runs it: planted label flips fail, clean data passes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from test_scan_command import run


def _table(path: Path, flips: int, seed: int = 0) -> Path:
    data = load_breast_cancer()
    rng = np.random.default_rng(seed)
    y = data.target.copy()
    flipped = rng.choice(len(y), flips, replace=False)
    y[flipped] = 1 - y[flipped]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*data.feature_names, "diagnosis"])
        for row, label in zip(data.data, y, strict=True):
            writer.writerow([*row, ("malignant", "benign")[label]])
    return path


def test_planted_label_flips_fail_the_check(tmp_path: Path) -> None:
    table = _table(tmp_path / "train.csv", flips=60)
    result = run("check", "data", str(table), "--label", "diagnosis", "--format", "json")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule_id"] for f in findings] == ["MLW-LBL-001"]


def test_plot_shows_each_score_distribution(tmp_path: Path) -> None:
    table = _table(tmp_path / "train.csv", flips=60)
    page = tmp_path / "scores.html"
    result = run("check", "data", str(table), "--label", "diagnosis", "--plot", str(page))
    assert result.returncode == 1
    text = page.read_text()
    assert "label-errors: per-sample score" in text
    assert text.count("<rect") >= 10  # histogram bars


def test_clean_labels_pass(tmp_path: Path) -> None:
    table = _table(tmp_path / "train.csv", flips=0)
    result = run("check", "data", str(table), "--label", "diagnosis")
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_unknown_column_is_a_usage_error(tmp_path: Path) -> None:
    table = _table(tmp_path / "train.csv", flips=0)
    result = run("check", "data", str(table), "--label", "nope")
    assert result.returncode == 2
    assert b"has no column 'nope'" in result.stderr


def test_check_model_loads_safely_and_reports_robustness(tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    joblib.dump(model.fit(data.data, data.target), tmp_path / "clf.joblib")
    table = tmp_path / "heldout.csv"
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*data.feature_names, "target"])
        writer.writerows(
            [*row, int(label)] for row, label in zip(data.data, data.target, strict=True)
        )
    args = ["check", "model", str(tmp_path / "clf.joblib"), "--data", str(table)]
    result = run(*args, "--label", "target", "--max-samples", "30", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []
    strict = run(*args, "--label", "target", "--max-samples", "30", "--floor", "0.99")
    assert strict.returncode == 1


def test_check_model_refuses_a_malicious_pickle(tmp_path: Path) -> None:
    import pickle

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Payload()))
    table = _table(tmp_path / "t.csv", flips=0)
    result = run(
        "check", "model", str(tmp_path / "model.pkl"), "--data", str(table), "--label", "diagnosis"
    )
    assert result.returncode == 2
    assert b"refused to load" in result.stderr
    assert not (tmp_path / "PWNED").exists()
