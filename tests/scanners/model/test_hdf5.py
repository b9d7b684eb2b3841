"""Keras HDF5 files: the config attributes are analysed, datasets never read."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from corpus.formats import keras2_lambda, keras2_model_config, write_h5
from corpus.payloads import Payload

import mlwarden
from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, ScanStatus, Severity
from mlwarden.scanners.base import Blob, Budget, ScanContext, ScanSettings
from mlwarden.scanners.model.hdf5_format import Hdf5Scanner

MARKER = Payload(Path("/tmp/never/MARKER"))


def scan_bytes(data: bytes, name: str = "model.h5") -> tuple[list[Finding], ScanStatus]:
    findings, status, _fmt = scan_blob(Blob(data, Location(name), name), ScanSettings())
    return findings, status


def context() -> ScanContext:
    settings = ScanSettings()
    return ScanContext(Budget(settings.limits, float("inf")), settings, lambda b: iter(()))


def h5_bytes(**attrs: Any) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        f.create_dataset("weights", data=np.zeros(16, np.float32))
    return buf.getvalue()


def test_lambda_in_model_config(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", keras2_model_config(keras2_lambda(MARKER)))
    report = mlwarden.scan(str(path))
    (finding,) = report.findings
    assert finding.rule_id == "MLW-KER-001" and finding.severity is Severity.CRITICAL
    assert finding.evidence.startswith("model_config: Lambda 'lambda'")
    assert report.files[0].format == "hdf5"


def test_benign_model_and_training_config(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", keras2_model_config())
    assert mlwarden.scan(str(path)).findings == ()


def test_training_config_is_analysed_too() -> None:
    training = {"loss": {"module": "os", "class_name": "function", "config": "system"}}
    findings, _ = scan_bytes(h5_bytes(training_config=json.dumps(training)))
    assert [f.rule_id for f in findings] == ["MLW-KER-003"]
    assert findings[0].evidence.startswith("training_config:")


def test_string_forms_of_the_attribute() -> None:
    config = json.dumps(keras2_model_config(keras2_lambda(MARKER)))
    for value in (config, config.encode(), np.bytes_(config.encode()), np.array([config.encode()])):
        findings, _ = scan_bytes(h5_bytes(model_config=value))
        assert [f.rule_id for f in findings] == ["MLW-KER-001"], type(value)


def test_weights_only_file_is_clean() -> None:
    assert scan_bytes(h5_bytes()) == ([], ScanStatus.SCANNED)


def test_bad_attributes_and_bad_files_are_malformed() -> None:
    findings, status = scan_bytes(h5_bytes(model_config="{not json"))
    assert [f.rule_id for f in findings] == ["MLW-GEN-003"]
    assert status is ScanStatus.PARTIAL
    whole = h5_bytes(model_config="{}")
    findings, _ = scan_bytes(whole[: whole.index(b"model_config") + 40])
    assert [f.rule_id for f in findings] == ["MLW-GEN-003"]
    assert "HDF5" in findings[0].evidence


def test_a_config_that_is_not_a_string_cannot_be_loaded_and_is_ignored() -> None:
    assert scan_bytes(h5_bytes(model_config=np.arange(3))) == ([], ScanStatus.SCANNED)


def test_oversized_attribute_is_a_limit() -> None:
    from dataclasses import replace

    from mlwarden.limits import Limits

    data = h5_bytes(model_config=np.bytes_(b"{" + b" " * 5000 + b"}"))
    settings = ScanSettings(limits=replace(Limits(), max_metadata_bytes=1000))
    findings, _, _ = scan_blob(Blob(data, Location("m.h5"), "m.h5"), settings)
    assert [f.rule_id for f in findings] == ["MLW-GEN-002"]


def test_both_hdf5_layouts_and_a_user_block() -> None:
    config = json.dumps(keras2_model_config(keras2_lambda(MARKER)))
    for kwargs in ({"libver": "earliest"}, {"libver": "latest"}, {"userblock_size": 512}):
        buf = io.BytesIO()
        with h5py.File(buf, "w", **kwargs) as f:
            f.attrs["model_config"] = config
        data = buf.getvalue()
        if "userblock_size" in kwargs:
            data = b"#!/bin/sh\n".ljust(512, b"\x00") + data[512:]
        findings = list(Hdf5Scanner().scan(Blob(data, Location("m.h5"), "m.h5"), context()))
        assert [f.rule_id for f in findings] == ["MLW-KER-001"], kwargs


def test_dense_attribute_storage_is_reported_not_skipped() -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:
        for i in range(20):  # more than 8 attributes: libhdf5 moves them to dense storage
            f.attrs[f"extra{i}"] = i
        f.attrs["model_config"] = json.dumps(keras2_model_config())
    findings, _ = scan_bytes(buf.getvalue())
    assert [f.rule_id for f in findings] == ["MLW-KER-007"]
    assert findings[0].severity is Severity.HIGH


def test_config_text_outside_the_attributes_read() -> None:
    hidden = json.dumps(keras2_model_config(keras2_lambda(MARKER))).encode()
    findings, _ = scan_bytes(h5_bytes(model_config="{}") + hidden)
    assert [f.rule_id for f in findings] == ["MLW-KER-007"]
    assert findings[0].location.offset is not None


def test_no_hdf5_library_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    config = json.dumps(keras2_model_config(keras2_lambda(MARKER)))
    data = h5_bytes(model_config=config)
    monkeypatch.setitem(sys.modules, "h5py", None)  # importing it would now fail
    findings, _ = scan_bytes(data)
    assert [f.rule_id for f in findings] == ["MLW-KER-001"]


def test_file_that_sent_libhdf5_into_an_endless_loop() -> None:
    """Found by fuzzing: with two bytes deleted and eight inserted, libhdf5 2.0 spins
    forever reading the attribute. The pure-Python reader answers at once."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["model_config"] = json.dumps(keras2_model_config(keras2_lambda(MARKER))).encode()
        f.create_dataset("w", data=np.zeros(8, np.float32))
    seed = buf.getvalue()
    data = seed[:1724] + seed[1726:3141] + b"\xf7" + bytes(7) + seed[3141:]
    started = time.monotonic()
    findings, _ = scan_bytes(data)
    assert time.monotonic() - started < 2
    assert findings and all(f.rule_id.startswith("MLW-") for f in findings)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d[:100], "outside the file"),
        (lambda d: d[:8] + b"\x07" + d[9:], "superblock version 7"),
        (lambda d: d[:13] + b"\x03" + d[14:], "offset or length sizes"),
    ],
)
def test_structural_damage_is_malformed(edit: Any, words: str) -> None:
    findings, _ = scan_bytes(edit(h5_bytes(model_config="{}")))
    assert [f.rule_id for f in findings] == ["MLW-GEN-003"]
    assert words in findings[0].evidence


def test_hdf5_after_a_user_block_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.attrs["model_config"] = json.dumps(keras2_model_config(keras2_lambda(MARKER)))
    assert [f.rule_id for f in mlwarden.scan(str(path)).findings] == ["MLW-KER-001"]
