"""`mlwarden scan` on a project folder: data, secrets and configs in one report."""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

from test_scan_command import run


def _hf_token(seed: int) -> str:
    rng = random.Random(seed)
    return "hf_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "train.py").write_text(f'import os\nTOKEN = "{_hf_token(1)}"\n')
    (root / "customers.csv").write_text(
        "name,email,card\nAnn Lee,ann@example.com,4111 1111 1111 1111\n"
        "Bob Ray,bob@example.org,5500 0055 5555 5559\n"
    )
    (root / "Dockerfile").write_text("FROM python:latest\nRUN curl -sSL https://x.sh | sh\n")
    return root


def _findings(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return list(json.loads(result.stdout)["findings"])


def test_one_report_covers_data_code_and_config(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    result = run("scan", str(project), "--format", "json", "--no-progress")
    assert result.returncode == 1
    rules = {f["rule_id"] for f in _findings(result)}
    assert {"MLW-SEC-011", "MLW-PII-001", "MLW-CFG-061"} <= rules
    text = result.stdout.decode()
    assert "4111 1111 1111 1111" not in text and _hf_token(1) not in text  # redacted


def test_secret_baseline_accepts_known_findings_only(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    baseline = tmp_path / "baseline.json"
    first = run("scan", str(project / "train.py"), "--write-baseline", str(baseline))
    assert first.returncode == 1 and baseline.exists()
    assert _hf_token(1) not in baseline.read_text()
    accepted = run("scan", str(project / "train.py"), "--baseline", str(baseline))
    assert accepted.returncode == 0
    (project / "train.py").write_text(f'TOKEN = "{_hf_token(2)}"\n')  # a new secret
    again = run("scan", str(project / "train.py"), "--baseline", str(baseline))
    assert again.returncode == 1


def test_tables_inside_archives_are_searched(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/customers.csv", "name,card\nAnn,4111 1111 1111 1111\n")
        zf.writestr("version", "3\n")  # an extensionless record is not a document
    result = run("scan", str(archive), "--format", "json", "--no-progress")
    cards = [f for f in _findings(result) if f["rule_id"] == "MLW-PII-001"]
    assert [f["location"]["member"] for f in cards] == ["data/customers.csv"]
    assert result.returncode == 1
