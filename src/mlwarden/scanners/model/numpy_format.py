"""NumPy ``.npy`` files: a header, then raw data, or a pickle for object arrays.

NumPy unpickles object arrays when loading with ``allow_pickle`` on, so their data is
analysed as a pickle stream; numeric arrays carry no code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from mlwarden.findings import Finding, Rule, Severity
from mlwarden.scanners.base import Blob, MalformedInput, ScanContext
from mlwarden.scanners.model.pickle_scanner import analyse_pickles
from mlwarden.taxonomy import CWE_DESERIALIZATION

OBJECT_ARRAY = Rule(
    "MLW-NPY-001",
    "NumPy array of Python objects (loading needs allow_pickle)",
    Severity.LOW,
    "Prefer numeric arrays; load object arrays only after this scan shows their pickle clean.",
    (CWE_DESERIALIZATION,),
)
RULES = (OBJECT_ARRAY,)
_MAX_HEADER = 1 << 16


def _header(data: memoryview) -> tuple[dict[str, object], int]:
    if len(data) < 10:
        raise MalformedInput("NumPy header is truncated")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    elif major in (2, 3):
        if len(data) < 12:
            raise MalformedInput("NumPy header is truncated")
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    else:
        raise MalformedInput(f"unknown NumPy format version {major}")
    if hlen > _MAX_HEADER or start + hlen > len(data):
        raise MalformedInput(f"NumPy header length {hlen} is out of bounds")
    import ast

    text = bytes(data[start : start + hlen]).decode("latin-1")
    try:
        header = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise MalformedInput("NumPy header is not a Python literal dictionary") from None
    if not isinstance(header, dict) or "descr" not in header:
        raise MalformedInput("NumPy header has no 'descr' entry")
    return header, start + hlen


def _has_object(descr: object) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list | tuple):
        return any(_has_object(part) for part in descr)
    return False


class NumpyScanner:
    name = "numpy"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        header, data_start = _header(blob.view())
        if not _has_object(header["descr"]):
            return []
        findings = [
            OBJECT_ARRAY.finding(blob.location, f"dtype {header['descr']!r}: data is a pickle")
        ]
        findings.extend(analyse_pickles(blob, ctx, data_start, sequence=False))
        return findings
