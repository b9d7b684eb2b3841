"""`mlwarden monitor` on CSV and Parquet files: exit codes, output, plot, profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlwarden.cli.monitor_cmd import monitor_command
from mlwarden.monitor.plots import histogram_svg


def frame(rng: np.random.Generator, n: int, mean: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": rng.normal(40 + mean, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "score": rng.normal(0, 1, n),
            "label": rng.choice(["yes", "no"], n),
        }
    )


def test_drifted_file_exits_1_with_findings_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    frame(rng, 4000).to_csv(tmp_path / "ref.csv", index=False)
    live = pd.concat([frame(rng, 500), frame(rng, 500, mean=8.0)])
    live.to_parquet(tmp_path / "live.parquet")
    code = monitor_command(
        str(tmp_path / "ref.csv"),
        str(tmp_path / "live.parquet"),
        label="label",
        format="json",
        window=500,
        sinks=[],
        plot=str(tmp_path / "drift.html"),
        save_profile=str(tmp_path / "profile.json"),
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    text = json.dumps(report)
    assert "MLW-MON-001" in text and '"age"' in text
    assert "<svg" in (tmp_path / "drift.html").read_text()
    # The saved profile is a valid reference for the next run; a quiet file exits 0.
    frame(rng, 1000).to_csv(tmp_path / "quiet.csv", index=False)
    code = monitor_command(
        str(tmp_path / "profile.json"), str(tmp_path / "quiet.csv"), format="table", window=500
    )
    assert code == 0


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{}")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert monitor_command(str(tmp_path / "missing.csv"), str(tmp_path / "x.csv")) == 2
    assert monitor_command(str(tmp_path / "bad.json"), str(tmp_path / "x.csv")) == 2
    assert monitor_command(str(tmp_path / "x.csv"), str(tmp_path / "x.csv"), format="xml") == 2
    assert monitor_command(str(tmp_path / "x.csv"), str(tmp_path / "x.csv"), sinks=["ftp://x"]) == 2
    assert "error" in capsys.readouterr().err


def test_histogram_escapes_labels() -> None:
    svg = histogram_svg([1, 2, 3, 10], title="<script>", threshold=5)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 30
