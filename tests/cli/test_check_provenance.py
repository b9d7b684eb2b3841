"""`mlwarden check provenance` as a user runs it: a registered dataset from an approved source
passes; an unknown digest or an unapproved source exits 1; no workspace exits 2 with the fix."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET_HEX = "22" * 32
CONFIG = '[check.provenance]\napproved_sources = ["s3://corp-data/"]\n'


def run(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWARDEN_")}
    env.update({"MLWARDEN_HOME": str(home), "MLWARDEN_KEYRING_SECRET": SECRET_HEX})
    return subprocess.run(
        [sys.executable, "-c", "from mlwarden.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with an mlwarden.toml and a registered training file."""
    (tmp_path / "mlwarden.toml").write_text(CONFIG)
    (tmp_path / "train.csv").write_text("a,b\n1,2\n3,4\n")
    home = tmp_path / "ws"
    assert run(home, tmp_path, "init").returncode == 0
    put = run(
        home,
        tmp_path,
        *("store", "put", "train.csv", "--name", "fraud/train", "--kind", "dataset"),
        *("--label", "source=s3://corp-data/fraud/train.csv"),
    )
    assert put.returncode == 0, put.stderr
    return tmp_path


def test_registered_file_passes_and_an_unknown_digest_fails(project: Path) -> None:
    home = project / "ws"
    ok = run(home, project, "check", "provenance", "train.csv")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    (project / "extra.csv").write_text("a,b\n9,9\n")
    bad = run(home, project, "check", "provenance", "train.csv", "extra.csv", "--format", "json")
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert [(f["rule_id"], f["location"]["path"]) for f in report["findings"]] == [
        ("MLW-PRV-001", "extra.csv")
    ]
    digest = hashlib.sha256((project / "extra.csv").read_bytes()).hexdigest()
    assert f"sha256:{digest}" in report["findings"][0]["evidence"]
    assert [f["sha256"] for f in report["files"]][1] == digest


def test_an_unapproved_source_is_flagged(project: Path) -> None:
    result = run(
        project / "ws",
        project,
        *("check", "provenance", "train.csv", "--source", "https://mirror.example/t.csv"),
        *("--format", "json"),
    )
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule_id"] == "MLW-PRV-002"
    assert "https://mirror.example/t.csv (given)" in finding["evidence"]


def test_without_a_workspace_the_error_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "mlwarden.toml").write_text(CONFIG)
    missing = run(tmp_path / "no-ws", tmp_path, "check", "provenance", "d.csv")
    assert missing.returncode == 2
    assert "mlwarden init" in missing.stderr and "--no-catalog" in missing.stderr

    sources_only = run(
        tmp_path / "no-ws",
        tmp_path,
        *("check", "provenance", "d.csv", "--no-catalog", "--source", "s3://corp-data/d.csv"),
    )
    assert sources_only.returncode == 0, sources_only.stderr


def test_no_catalog_without_approved_sources_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    result = run(tmp_path / "no-ws", tmp_path, "check", "provenance", "d.csv", "--no-catalog")
    assert result.returncode == 2
    assert "approved_sources" in result.stderr
