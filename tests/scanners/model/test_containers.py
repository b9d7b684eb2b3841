"""Archives and compressed streams: anomalies reported, bombs bounded, members reached."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import replace

from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, ScanSettings

EVIL = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."


def scan(data: bytes, name: str = "archive.zip", **limits: int) -> list[Finding]:
    settings = ScanSettings(limits=replace(Limits(), **limits))
    findings, _status, _fmt = scan_blob(Blob(data, Location(name), name), settings)
    return findings


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_pickle_under_any_member_name_is_found_with_its_path() -> None:
    found = scan(make_zip({"weights/blob.bin": EVIL}))
    hit = next(f for f in found if f.rule_id == "MLW-PKL-001")
    assert hit.location.member == "weights/blob.bin"


def test_nested_archives_are_opened() -> None:
    inner = make_zip({"model/data.pkl": EVIL}, zipfile.ZIP_DEFLATED)
    outer = make_zip({"bundle/inner.pt": inner})
    hit = next(f for f in scan(outer) if f.rule_id == "MLW-PKL-001")
    assert hit.location.member == "bundle/inner.pt!model/data.pkl"


def test_nesting_beyond_the_limit_is_reported() -> None:
    data = EVIL
    for _ in range(5):
        data = make_zip({"x.zip": data})
    assert "MLW-GEN-002" in rules(scan(data, max_archive_depth=3))


def test_encryption_flag_and_bad_crc_do_not_hide_the_payload() -> None:
    raw = bytearray(make_zip({"archive/data.pkl": EVIL}))
    raw[6] |= 0x1  # local header flag
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 0x1  # central directory flag
    raw[central + 16] ^= 0xFF  # CRC-32
    found = scan(bytes(raw))
    assert {"MLW-PKL-001", "MLW-ARC-001", "MLW-ARC-003"} <= rules(found)


def test_prepended_data_is_reported_and_the_archive_still_read() -> None:
    found = scan(b"#!/bin/sh\nexit 0\n" + make_zip({"a/data.pkl": EVIL}), "model.bin")
    assert {"MLW-PKL-001", "MLW-ARC-001"} <= rules(found)


def test_path_traversal_member_is_high() -> None:
    found = scan(make_zip({"../../etc/cron.d/job": b"* * * * * root true\n"}))
    assert any(f.rule_id == "MLW-ARC-002" and f.severity is Severity.HIGH for f in found)


def test_zip_bomb_is_bounded() -> None:
    bomb = make_zip({"big.pkl": b"\x00" * (64 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 1 << 20
    found = scan(bomb, max_member_bytes=8 << 20)
    assert "MLW-ARC-004" in rules(found) or "MLW-ARC-005" in rules(found)


def test_compressed_stream_bomb_is_bounded() -> None:
    found = scan(zlib.compress(b"\x00" * (32 << 20), 9), "x.joblib", max_member_bytes=4 << 20)
    assert "MLW-ARC-005" in rules(found)


def test_tar_members_are_scanned() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("checkpoint/pickle")
        info.size = len(EVIL)
        tf.addfile(info, io.BytesIO(EVIL))
    hit = next(f for f in scan(buf.getvalue(), "legacy.tar") if f.rule_id == "MLW-PKL-001")
    assert hit.location.member == "checkpoint/pickle"


def test_truncated_zip_is_malformed_not_a_crash() -> None:
    data = make_zip({"a/data.pkl": pickle.dumps([1, 2, 3])})
    found = scan(data[: len(data) // 2] + b"PK\x05\x06" + b"\x00" * 18)
    assert max(f.severity for f in found) >= Severity.HIGH


def test_pickle_that_is_also_a_zip_is_read_both_ways() -> None:
    # A benign pickle up front and an archive behind it: zip readers that search for the
    # central directory load the archive's payload.
    benign = pickle.dumps({"weights": [1, 2]}, protocol=2)
    found = scan(benign + make_zip({"archive/data.pkl": EVIL}), "model.bin")
    assert "MLW-PKL-001" in rules(found)


def test_bomb_scan_memory_stays_near_the_member_limit() -> None:
    import tracemalloc

    bomb = make_zip({f"part{i}.pkl": b"\x00" * (32 << 20) for i in range(4)}, zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    try:
        found = scan(bomb, max_member_bytes=4 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "MLW-ARC-004" in rules(found) or "MLW-ARC-005" in rules(found)
    assert peak < 16 << 20  # 128 MiB of content never materialises
