"""Mutated and truncated files of every non-pickle format never crash a scanner.

Each seed is a valid file; mutations flip, insert, delete and truncate bytes. Whatever
comes out, the engine must return a result whose findings are rule findings, never the
"scanner failed" internal error.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
from corpus import protowriter as pw
from corpus.formats import (
    BENIGN_TEMPLATE,
    external_tensor,
    keras2_lambda,
    keras2_model_config,
    keras3_config,
    keras3_lambda,
    onnx_model,
    tokenizer_config,
)
from corpus.ggufwriter import ARRAY, GGML_F32, KV, STRING, U32, TensorInfo, write_gguf
from corpus.payloads import Payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import mutate
from safetensors.numpy import save

from mlwarden.engine import INTERNAL_RULE, scan_blob
from mlwarden.findings import Location, ScanStatus
from mlwarden.scanners.base import Blob, ScanSettings

P = Payload(Path("/tmp/never/MARKER"))


def _h5(libver: str = "earliest") -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver=libver) as f:
        f.attrs["model_config"] = json.dumps(keras2_model_config(keras2_lambda(P))).encode()
        f.attrs["training_config"] = np.bytes_(b'{"loss": "mse"}')
        f.create_dataset("w", data=np.zeros(8, np.float32))
    return buf.getvalue()


def _keras() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(keras3_config(keras3_lambda(P))))
    return buf.getvalue()


SEEDS: dict[str, bytes] = {
    "config.json": json.dumps(keras3_config(keras3_lambda(P))).encode(),
    "tokenizer_config.json": tokenizer_config(BENIGN_TEMPLATE),
    "model.h5": _h5(),
    "model_v2_header.h5": _h5("latest"),
    "model.keras": _keras(),
    "model.onnx": onnx_model(external_tensor("W", "../x.bin")).SerializeToString(),
    "saved_model.pb": pw.saved_model(
        pw.graph_def(
            [pw.node_def("p", "PyFunc", pw.attr_string("token", "t"))],
            [pw.function_def("f", pw.node_def("w", "WriteFile"))],
        ),
        assets=("vocab.txt",),
    ),
    "keras_metadata.pb": pw.keras_metadata(json.dumps(keras2_lambda(P))),
    "model.safetensors": save({"w": np.ones((2, 3), np.float32), "b": np.zeros(3, np.int8)}),
    "model.gguf": write_gguf(
        [
            KV("general.alignment", U32, 32),
            KV("tokenizer.ggml.tokens", ARRAY, ["a", "bb", "ccc"], STRING),
            KV("tokenizer.chat_template", STRING, BENIGN_TEMPLATE),
        ],
        [TensorInfo("t", (4, 2), GGML_F32, bytes(32))],
    ),
}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    return name, mutate(draw, SEEDS[name], max_ops=6)


def check(name: str, data: bytes) -> None:
    findings, status, fmt = scan_blob(Blob(data, Location(name), name), ScanSettings())
    assert isinstance(status, ScanStatus) and fmt
    failures = [f.evidence for f in findings if f.rule_id == INTERNAL_RULE.id]
    assert not failures, failures
    assert all(f.rule_id.startswith("MLW-") for f in findings)


def test_every_seed_is_valid_and_detected() -> None:
    for name, data in SEEDS.items():
        findings, status, fmt = scan_blob(Blob(data, Location(name), name), ScanSettings())
        assert fmt != "unknown" and status is ScanStatus.SCANNED, (name, fmt, findings)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_never_crash(case: tuple[str, bytes]) -> None:
    check(*case)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_every_truncation_point_is_handled(name: str, data: st.DataObject) -> None:
    seed = SEEDS[name]
    check(name, seed[: data.draw(st.integers(0, len(seed)))])


def test_mutated_files_on_disk_scan_to_a_result() -> None:
    """Through the public API too: every file gets exactly one result."""
    import mlwarden

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (name, data) in enumerate(SEEDS.items()):
            path = Path(tmp) / f"{i}-{name}"
            path.write_bytes(data[: len(data) // 2])
            paths.append(str(path))
        report = mlwarden.scan(*paths)
    assert [r.path for r in report.files] == paths
    assert all(r.status is not ScanStatus.ERROR for r in report.files)
