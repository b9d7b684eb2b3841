"""The non-pickle corpus end to end: each malicious sample flagged with its rule family,
each benign sample clean, nothing executed while scanning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus.formats import FORMAT_LOADERS, build_format_benign, build_format_malicious
from corpus.sample import Sample
from scan_guards import AuditGuard

import mlwarden
from mlwarden.engine import scan_paths
from mlwarden.findings import ScanStatus, Severity


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("formats")
    marker = root / "marker" / "PWNED"
    marker.parent.mkdir()
    built = build_format_malicious(root / "mal", marker) + build_format_benign(root / "ben")
    assert not marker.exists()
    return marker, built


def loader(sample: Sample) -> str:
    return next(t for t in sample.tags if t.startswith("loader:")).removeprefix("loader:")


def test_samples_are_well_formed(samples: tuple[Path, list[Sample]]) -> None:
    _, built = samples
    assert len({s.name for s in built}) == len(built) == len({s.path for s in built})
    for s in built:
        assert s.path.is_file() and s.path.stat().st_size > 0, s.name
        assert ":" in s.technique
        assert loader(s) == "none" or loader(s) in FORMAT_LOADERS
        assert (s.kind == "malicious") == bool(s.expect_prefix)


def test_every_malicious_sample_is_flagged(samples: tuple[Path, list[Sample]]) -> None:
    missed = []
    for s in (s for s in samples[1] if s.kind == "malicious"):
        report = mlwarden.scan(str(s.path))
        hits = [f for f in report.findings if f.severity >= Severity.HIGH]
        if not any(f.rule_id.startswith(s.expect_prefix) for f in hits):
            missed.append(f"{s.name}: {[(f.rule_id, f.evidence) for f in report.findings]}")
    assert not missed, "\n".join(missed)


def test_benign_samples_are_clean(samples: tuple[Path, list[Sample]]) -> None:
    for s in (s for s in samples[1] if s.kind == "benign"):
        report = mlwarden.scan(str(s.path))
        assert report.findings == (), (s.name, report.findings)
        assert report.files[0].status is ScanStatus.SCANNED


def test_scanning_runs_nothing(samples: tuple[Path, list[Sample]], audit: AuditGuard) -> None:
    marker, built = samples
    report = scan_paths([str(s.path) for s in built])
    audit.armed = False
    assert len(report.files) == len(built)
    assert audit.events == []
    assert not marker.exists()


@pytest.mark.skipif(not os.environ.get("MLW_VERIFY_PAYLOADS"), reason="slow; child processes")
def test_code_payloads_fire_under_their_loader(samples: tuple[Path, list[Sample]]) -> None:
    marker, built = samples
    for s in built:
        if loader(s) == "none":
            continue
        marker.unlink(missing_ok=True)
        snippet = FORMAT_LOADERS[loader(s)]
        proc = subprocess.run(
            [sys.executable, "-c", snippet, str(s.path)], capture_output=True, timeout=60
        )
        assert proc.returncode == 0, (s.name, proc.stderr[-500:])
        assert marker.exists() == (s.kind == "malicious"), s.name
    marker.unlink(missing_ok=True)
