"""The bounded protobuf wire reader: agrees with the real protobuf library, refuses the rest."""

from __future__ import annotations

import contextlib

import pytest
from corpus import protowriter as pw
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from mlwarden.scanners.base import LimitExceeded, MalformedInput
from mlwarden.scanners.model.protobuf_wire import I32, I64, LEN, VARINT, Message, read_varint


def fields(data: bytes) -> list[tuple[int, int, int]]:
    return [(f.number, f.wire_type, f.value) for f in Message(memoryview(data)).fields()]


@given(st.integers(0, 2**64 - 1))
def test_varints_round_trip(value: int) -> None:
    data = pw.varint(value)
    assert read_varint(memoryview(data), 0, len(data)) == (value, len(data))


def test_reads_what_the_protobuf_library_wrote() -> None:
    tensor = helper.make_tensor("weight", TensorProto.FLOAT, [2, 3], [1.0] * 6)
    tensor.doc_string = "x" * 300  # a length that needs a two-byte varint
    msg = Message(memoryview(tensor.SerializeToString()))
    by_number = {f.number: f for f in msg.fields()}
    assert msg.text(by_number[8]) == "weight"
    assert by_number[2].wire_type == VARINT and by_number[2].value == TensorProto.FLOAT
    assert msg.text(by_number[12]) == "x" * 300


def test_fixed_width_fields() -> None:
    data = pw.key(1, I64) + (7).to_bytes(8, "little") + pw.key(2, I32) + (9).to_bytes(4, "little")
    assert fields(data) == [(1, I64, 7), (2, I32, 9)]


def test_payload_spans_point_into_the_buffer_without_copying() -> None:
    payload = b"\x00" * 1000
    data = pw.bytes_field(9, payload)
    (f,) = Message(memoryview(data)).fields()
    assert f.wire_type == LEN and data[f.start : f.end] == payload


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (pw.bytes_field(1, b"abc")[:-1], "claims 3 bytes"),
        (b"\x08", "truncated"),
        (b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
        (pw.key(1, 3) + b"\x00", "wire type 3"),
        (pw.key(1, 6), "wire type 6"),
        (b"\x00\x01", "field number 0"),
        (pw.key(1, I64) + b"\x00" * 3, "truncated"),
    ],
)
def test_malformed_wire_data_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(MalformedInput, match=words):
        fields(data)


def test_nesting_is_bounded() -> None:
    data = b"leaf"
    for _ in range(10):
        data = pw.bytes_field(1, data)
    msg = Message(memoryview(data), max_depth=5)
    with pytest.raises(LimitExceeded):
        for _ in range(10):
            (f,) = msg.fields()
            msg = msg.sub(f)


def test_a_scalar_is_not_a_message() -> None:
    msg = Message(memoryview(pw.int_field(1, 5)))
    (f,) = msg.fields()
    with pytest.raises(MalformedInput, match="should be a message"):
        msg.sub(f)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedInput):
        fields(data)
