"""GGUF: bounded parsing of every count and length, layout anomalies, chat templates."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from corpus.formats import BENIGN_TEMPLATE
from corpus.ggufwriter import (
    ARRAY,
    BOOL,
    F32,
    F64,
    GGML_F16,
    GGML_F32,
    I8,
    KV,
    STRING,
    U8,
    U32,
    U64,
    TensorInfo,
    string,
    write_gguf,
)

from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, ScanSettings

EVIL = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def scan(data: bytes, **limits: int) -> list[Finding]:
    settings = ScanSettings(limits=replace(Limits(), **limits))
    findings, _status, _fmt = scan_blob(Blob(data, Location("m.gguf"), "m.gguf"), settings)
    return findings


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule_id for f in findings]


BASE = [KV("general.architecture", STRING, "llama"), KV("general.alignment", U32, 32)]
TENSORS = [
    TensorInfo("a", (8, 4), GGML_F32, bytes(128)),
    TensorInfo("b", (32,), GGML_F16, bytes(64)),
    TensorInfo("q", (64,), 8, bytes(68)),  # Q8_0: two 34-byte blocks
]


def test_a_well_formed_file_with_every_value_type_is_clean() -> None:
    kvs = [
        *BASE,
        KV("u8", U8, 1), KV("i8", I8, -1), KV("f32", F32, 0.5), KV("b", BOOL, True),
        KV("u64", U64, 2**40), KV("f64", F64, 1e300),
        KV("tokens", ARRAY, ["a", "b", ""], STRING), KV("scores", ARRAY, [1.0, 2.0], F32),
        KV("nested", ARRAY, [[1, 2], [3]], ARRAY),
        KV("tokenizer.chat_template", STRING, BENIGN_TEMPLATE),
    ]  # fmt: skip
    # nested arrays: the writer's inner lists default to u32 items
    assert scan(write_gguf(kvs, TENSORS)) == []


def test_versions_and_big_endian() -> None:
    assert scan(write_gguf(BASE, TENSORS, version=2)) == []
    header = b"GGUF" + struct.pack(">IQQ", 3, 0, 1) + struct.pack(">Q", 3) + b"key"
    header += struct.pack(">I", U32) + struct.pack(">I", 7)
    assert scan(header) == []
    v1 = b"GGUF" + struct.pack("<III", 1, 0, 1) + struct.pack("<I", 3) + b"key"
    v1 += struct.pack("<I", STRING) + struct.pack("<I", 2) + b"hi"
    assert scan(v1) == []


def test_chat_templates_are_analysed() -> None:
    for key in ("tokenizer.chat_template", "tokenizer.chat_template.tool_use"):
        (finding,) = scan(write_gguf([*BASE, KV(key, STRING, EVIL)], TENSORS))
        assert finding.rule_id == "MLW-TPL-001" and finding.severity is Severity.CRITICAL
        assert finding.evidence.startswith(key + ":")


def test_duplicate_keys_and_tensor_names() -> None:
    kvs = [*BASE, KV("tokenizer.chat_template", STRING, "{{ x }}"),
           KV("tokenizer.chat_template", STRING, EVIL)]  # fmt: skip
    tensors = [*TENSORS, TensorInfo("a", (4,), GGML_F32, bytes(16))]
    found = scan(write_gguf(kvs, tensors))
    assert sorted(rules(found)) == ["MLW-GGUF-001", "MLW-GGUF-001", "MLW-TPL-001"]


@pytest.mark.parametrize(
    ("tensor", "words"),
    [
        (TensorInfo("x" * 70, (4,), GGML_F32, bytes(16)), "name longer than 63"),
        (TensorInfo("t", (1, 1, 1, 1, 4), GGML_F32, bytes(16)), "5 dimensions"),
        (TensorInfo("t", (4,), 99, bytes(16)), "unknown tensor type 99"),
        (TensorInfo("t", (40,), 8, bytes(68)), "not a multiple of block size 32"),
        (TensorInfo("t", (4,), GGML_F32, bytes(16), offset=4), "not aligned"),
        (TensorInfo("t", (4,), GGML_F32, bytes(16), offset=0), "share bytes"),
    ],
)
def test_layout_anomalies(tensor: TensorInfo, words: str) -> None:
    (finding,) = scan(write_gguf(BASE, [*TENSORS, tensor]))
    assert finding.rule_id == "MLW-GGUF-002" and words in finding.evidence


def _header(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"GGUF", "needs"),
        (b"GGUF" + struct.pack("<I", 9) + bytes(16), "unsupported GGUF version"),
        (_header(0, 2**62), "cannot fit"),
        (_header(2**40, 0), "cannot fit"),
        (_header(0, 1) + struct.pack("<Q", 2**63) + b"k", "cannot fit"),
        (_header(0, 1) + string("k") + struct.pack("<I", 77), "unknown GGUF value type 77"),
        (_header(0, 1) + string("k") + struct.pack("<IIQ", ARRAY, U32, 2**60), "cannot fit"),
        (_header(0, 1) + string("k") + struct.pack("<IIQ", ARRAY, 55, 1), "element type 55"),
        (_header(0, 1) + string("k") + struct.pack("<II", STRING, 5), "needs"),
        (_header(0, 1) + string("general.alignment") + struct.pack("<II", U32, 24),
         "not a power of two"),
    ],
)  # fmt: skip
def test_malformed_headers(data: bytes, words: str) -> None:
    (finding,) = scan(data)
    assert finding.rule_id == "MLW-GEN-003" and words in finding.evidence, finding.evidence


def test_tensor_data_past_the_end_is_malformed() -> None:
    data = write_gguf(BASE, [TensorInfo("a", (1024, 1024), GGML_F32, bytes(16))])
    (finding,) = scan(data)
    assert finding.rule_id == "MLW-GEN-003" and "runs past the end" in finding.evidence
    huge = write_gguf(BASE, [TensorInfo("a", (2**62, 2**62), GGML_F32, bytes(16))])
    assert rules(scan(huge)) == ["MLW-GEN-003"]  # no overflow: Python integers


def test_limits() -> None:
    inner = struct.pack("<IQ", U32, 1) + struct.pack("<I", 1)
    for _ in range(12):
        inner = struct.pack("<IQ", ARRAY, 1) + inner
    data = _header(0, 1) + string("deep") + struct.pack("<I", ARRAY) + inner
    assert rules(scan(data)) == ["MLW-GEN-002"]
    big_template = write_gguf([KV("tokenizer.chat_template", STRING, "x" * 5000)])
    assert rules(scan(big_template, max_metadata_bytes=1000)) == ["MLW-GEN-002"]
