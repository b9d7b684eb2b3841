"""Structural checks of the generated corpus. Nothing here loads a malicious sample.

The end-to-end proof that every payload fires is ``verify_payloads.py`` (child processes
only); set MLW_VERIFY_PAYLOADS=1 to run it from pytest as well.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from corpus import build_benign, build_large_checkpoint, build_malicious
from corpus.loaders import LOADERS, NO_LOADER, loader_of
from corpus.sample import Sample


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sample]:
    root = tmp_path_factory.mktemp("corpus")
    marker = root / "marker" / "PWNED"
    samples = build_malicious(root / "mal", marker) + build_benign(root / "ben")
    assert not marker.exists()  # building must never execute a payload
    return {s.name: s for s in samples}


def test_samples_are_well_formed(corpus: dict[str, Sample]) -> None:
    mal = [s for s in corpus.values() if s.kind == "malicious"]
    ben = [s for s in corpus.values() if s.kind == "benign"]
    assert len(mal) >= 100 and len(ben) >= 40
    assert len({s.path for s in corpus.values()}) == len(corpus)
    for s in corpus.values():
        assert s.path.is_file() and s.path.stat().st_size > 0, s.name
        assert loader_of(s) in LOADERS or loader_of(s) == NO_LOADER
        assert ":" in s.technique
        if s.kind == "malicious":
            assert s.expect_prefix.startswith("MLW-"), s.name
        else:
            assert s.expect_prefix == "", s.name
    assert "unknown-class" in corpus["unknown_class"].tags


def test_zip_anomalies_fool_python_zipfile(corpus: dict[str, Sample]) -> None:
    with (
        zipfile.ZipFile(corpus["torch_zip_bad_crc"].path) as z,
        pytest.raises(zipfile.BadZipFile),
    ):
        z.read("archive/data.pkl")
    with zipfile.ZipFile(corpus["torch_zip_duplicate_data_pkl"].path) as z:
        assert b"posix" not in z.read("archive/data.pkl")  # zipfile sees the benign copy
    poly = corpus["pickle_zip_polyglot"].path
    assert zipfile.is_zipfile(poly) and poly.read_bytes()[:2] == b"\x80\x02"


def test_large_checkpoint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = build_large_checkpoint(tmp_path / "big.pt", 70)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    sd = torch.load(path, weights_only=True, mmap=True)
    assert sum(t.nbytes for t in sd.values()) == 70 * 2**20
    assert len(sd) == 2  # one full 64 MiB tensor and the remainder


@pytest.mark.skipif(not os.environ.get("MLW_VERIFY_PAYLOADS"), reason="slow; child processes")
def test_every_payload_fires() -> None:
    from corpus.verify_payloads import main

    assert main(["-j", "2"]) == 0
