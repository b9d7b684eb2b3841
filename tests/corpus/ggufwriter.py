"""A small GGUF writer (v2/v3 layout, little-endian) for fixtures.

Metadata values are given with their GGUF type so tests can write exactly the bytes they
mean, including structures a careful writer would refuse (duplicate keys, bad offsets).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FORMATS = {
    U8: "B",
    I8: "b",
    U16: "H",
    I16: "h",
    U32: "I",
    I32: "i",
    F32: "f",
    BOOL: "?",
    U64: "Q",
    I64: "q",
    F64: "d",
}
GGML_F32, GGML_F16 = 0, 1


@dataclass(frozen=True)
class KV:
    key: str
    kind: int
    value: object
    item_kind: int = U32  # for arrays


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    kind: int
    data: bytes
    offset: int | None = None  # None: next aligned offset


def string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def value(kind: int, v: object, item_kind: int = U32) -> bytes:
    if kind == STRING:
        assert isinstance(v, str | bytes)
        return string(v)
    if kind == ARRAY:
        assert isinstance(v, list)
        return struct.pack("<IQ", item_kind, len(v)) + b"".join(value(item_kind, i) for i in v)
    return struct.pack("<" + _FORMATS[kind], v)


def write_gguf(
    kvs: Sequence[KV], tensors: Sequence[TensorInfo] = (), *, alignment: int = 32, version: int = 3
) -> bytes:
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)))
    for kv in kvs:
        out += string(kv.key) + struct.pack("<I", kv.kind) + value(kv.kind, kv.value, kv.item_kind)
    data = bytearray()
    offsets = []
    for t in tensors:
        pad = -len(data) % alignment
        data += b"\x00" * pad
        offsets.append(len(data) if t.offset is None else t.offset)
        data += t.data
    for t, off in zip(tensors, offsets, strict=True):
        out += string(t.name) + struct.pack("<I", len(t.dims))
        out += b"".join(struct.pack("<Q", d) for d in t.dims)
        out += struct.pack("<IQ", t.kind, off)
    out += b"\x00" * (-len(out) % alignment)
    return bytes(out + data)
