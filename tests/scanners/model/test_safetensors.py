"""safetensors: a valid file is silent; every header defect is named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from corpus.formats import header_looks_like_pickle, safetensors_bytes
from safetensors.numpy import save, save_file

import mlwarden
from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import (
    Blob,
    Budget,
    LimitExceeded,
    MalformedInput,
    ScanContext,
    ScanSettings,
)
from mlwarden.scanners.model.safetensors_format import SafetensorsScanner


def scan(data: bytes, **limits: int) -> list[Finding]:
    settings = ScanSettings(limits=replace(Limits(), **limits))
    name = "model.safetensors"
    findings, _status, _fmt = scan_blob(Blob(data, Location(name), name), settings)
    return findings


def scan_direct(data: bytes) -> list[Finding]:
    """Run the scanner itself, whatever the format detector would say about the bytes."""
    settings = ScanSettings()
    ctx = ScanContext(Budget(settings.limits, float("inf")), settings, lambda b: iter(()))
    blob = Blob(data, Location("m.safetensors"), "m.safetensors")
    return list(SafetensorsScanner().scan(blob, ctx))


def st(header: dict[str, object], data: bytes) -> bytes:
    return safetensors_bytes(json.dumps(header).encode(), data)


def f32(shape: list[int], begin: int, end: int) -> dict[str, object]:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


def test_files_written_by_the_library_are_clean(tmp_path: Path) -> None:
    tensors = {
        "w": np.ones((3, 5), np.float32),
        "b": np.zeros(5, np.float16),
        "i": np.arange(7, dtype=np.int64),
        "flag": np.array([True, False]),
        "empty": np.zeros((0, 4), np.float32),
    }
    path = tmp_path / "m.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "note": "x"})
    assert mlwarden.scan(str(path)).findings == ()
    assert scan(save({"scalar": np.array(1.5, np.float64)})) == []


def test_sub_byte_dtypes() -> None:
    header = {"a": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
              "b": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [2, 5]}}  # fmt: skip
    assert scan(st(header, bytes(5))) == []
    bad = {"a": {"dtype": "F6_E2M3", "shape": [3], "data_offsets": [0, 2]}}
    assert [f.rule_id for f in scan(st(bad, bytes(2)))] == ["MLW-GEN-003"]


def test_duplicate_keys_are_high() -> None:
    header = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":' + json.dumps(
        f32([1], 0, 4)
    ).encode() + b"}"  # fmt: skip
    (finding,) = scan(safetensors_bytes(header, bytes(4)))
    assert finding.rule_id == "MLW-ST-001" and finding.severity is Severity.HIGH
    assert "CWE-436" in finding.tags


def test_overlap_and_gaps() -> None:
    overlap = {"a": f32([2], 0, 8), "b": f32([2], 4, 12)}
    rules = [f.rule_id for f in scan(st(overlap, bytes(12)))]
    assert rules == ["MLW-ST-002"]
    gap = {"a": f32([1], 0, 4), "b": f32([1], 8, 12)}
    (finding,) = scan(st(gap, bytes(16)))
    assert finding.rule_id == "MLW-ST-003" and finding.severity is Severity.LOW
    assert finding.evidence == "4 bytes at 4; 4 trailing bytes at 12"


def test_metadata_must_map_strings_to_strings() -> None:
    for metadata, words in (({"epoch": 3}, "'epoch' value is a int"), (["x"], "a list")):
        header = {"__metadata__": metadata, "a": f32([1], 0, 4)}
        (finding,) = scan(st(header, bytes(4)))
        assert finding.rule_id == "MLW-ST-004" and words in finding.evidence


@pytest.mark.parametrize(
    ("header", "data", "words"),
    [
        ({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, 16, "unknown dtype"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4, "non-negative"),
        ({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, 4, "non-negative"),
        ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4, "non-negative"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, 4, "outside"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}, 4, "outside"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, 8, "needs 8"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, 4, "[begin, end]"),
        ({"a": [1, 2]}, 0, "not an object"),
    ],
)
def test_invalid_tensor_entries(header: dict[str, object], data: int, words: str) -> None:
    (finding,) = scan(st(header, bytes(data)))
    assert finding.rule_id == "MLW-GEN-003" and words in finding.evidence


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 4,
        (100).to_bytes(8, "little") + b"{}",
        (2).to_bytes(8, "little") + b"[]",
        (4).to_bytes(8, "little") + b"{\xff}" + b" ",
        (3).to_bytes(8, "little") + b"{1:",
    ],
)
def test_broken_headers(data: bytes) -> None:
    with pytest.raises(MalformedInput):
        scan_direct(data)


def test_header_size_limit() -> None:
    data = st({"a": f32([1], 0, 4)}, bytes(4))
    assert [f.rule_id for f in scan(data, max_metadata_bytes=16)] == ["MLW-GEN-002"]


def test_scanner_raises_only_its_two_exceptions_on_deep_json() -> None:
    header = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises((MalformedInput, LimitExceeded)):
        scan_direct(len(header).to_bytes(8, "little") + header)


def test_header_lengths_that_look_like_a_pickle_are_still_safetensors() -> None:
    assert header_looks_like_pickle(0x180)
    raw = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":' + json.dumps(
        f32([1], 0, 4)
    ).encode() + b"}"  # fmt: skip
    header = raw + b" " * (0x180 - len(raw))
    data = len(header).to_bytes(8, "little") + header + bytes(4)
    assert [f.rule_id for f in scan(data)] == ["MLW-ST-001"]
