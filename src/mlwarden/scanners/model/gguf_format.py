"""GGUF files (llama.cpp and its ecosystem): header, metadata, tensor table, chat templates.

GGUF holds no code, but two things in it matter: its metadata carries the Jinja chat
template that servers render on every request (analysed by :mod:`chat_template`), and
its parser has been a rich source of memory-safety bugs (counts and lengths that
overflow, too many dimensions, tensors outside the file). Every count and length here is
checked against the bytes that remain before anything is read, and the structures that
split readers (duplicate keys or names, overlapping or misaligned tensors) are reported.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput, ScanContext
from mlwarden.scanners.model.chat_template import RULES as TEMPLATE_RULES
from mlwarden.scanners.model.chat_template import template_findings
from mlwarden.taxonomy import (
    ATLAS_SUPPLY_CHAIN_MODEL,
    CWE_IMPROPER_INPUT,
    CWE_INTERPRETATION_CONFLICT,
)

DUPLICATE = Rule(
    "MLW-GGUF-001",
    "Duplicate GGUF metadata key or tensor name",
    Severity.HIGH,
    "Do not use this file: readers disagree on which duplicate wins, so what was reviewed "
    "is not necessarily what runs. Re-convert the model from its source.",
    (CWE_INTERPRETATION_CONFLICT, ATLAS_SUPPLY_CHAIN_MODEL),
)
LAYOUT = Rule(
    "MLW-GGUF-002",
    "GGUF structure anomaly",
    Severity.MEDIUM,
    "Re-convert the model with a current llama.cpp converter; a file like this is either "
    "damaged or shaped to confuse one of its readers.",
    (CWE_IMPROPER_INPUT, CWE_INTERPRETATION_CONFLICT),
    "Misaligned or overlapping tensor data, more than four dimensions, unknown tensor "
    "types or over-long names: llama.cpp rejects these, other readers may not.",
)
RULES = (DUPLICATE, LAYOUT, *TEMPLATE_RULES)

_SCALARS: dict[int, str] = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
# ggml tensor types: (elements per block, bytes per block), from gguf-py's GGML_QUANT_SIZES.
_GGML_TYPES: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 40),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
    39: (32, 17),
    40: (64, 36),
    41: (128, 18),
    42: (64, 18),
}
_DEFAULT_ALIGNMENT = 32
_MAX_DIMS = 4  # GGML_MAX_DIMS
_MAX_NAME = 64  # GGML_MAX_NAME, including the terminating NUL
_MAX_ARRAY_NESTING = 8
_MAX_KEY = 65_535
_MAX_REPORTED = 20
_TEMPLATE_KEY = "tokenizer.chat_template"


def _is_template_key(key: str) -> bool:
    return key == _TEMPLATE_KEY or key.startswith(_TEMPLATE_KEY + ".")


@dataclass
class _Tensor:
    name: str
    dims: list[int]
    kind: int
    offset: int
    at: int


@dataclass
class _Parsed:
    version: int
    keys: list[str] = field(default_factory=list)
    templates: list[tuple[str, str]] = field(default_factory=list)
    alignment: int = _DEFAULT_ALIGNMENT
    tensors: list[_Tensor] = field(default_factory=list)
    data_start: int = 0


class _Reader:
    def __init__(self, data: memoryview, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.pos = 0
        self.endian = "<"
        self.wide = True  # v2+: 64-bit counts and lengths
        self.steps = 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or n > len(self.data) - self.pos:
            raise MalformedInput(
                f"{what} at byte {self.pos} needs {n} bytes; only "
                f"{len(self.data) - self.pos} remain"
            )

    def scalar(self, fmt: str, what: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(self.endian + fmt, self.data, self.pos)
        self.pos += size
        return value  # type: ignore[no-any-return]

    def u32(self, what: str) -> int:
        return int(self.scalar("I", what))

    def count(self, what: str, min_item: int) -> int:
        n = int(self.scalar("Q" if self.wide else "I", what))
        # Every item takes at least ``min_item`` bytes: a count the file cannot hold is a
        # lie that overflows naive readers.
        if min_item and n > (len(self.data) - self.pos) // min_item:
            raise MalformedInput(f"{what} {n} cannot fit in the {len(self.data)}-byte file")
        return n

    def string(self, what: str, keep: int = 0) -> str | None:
        n = self.count(f"{what} length", 1)
        self.need(n, what)
        start = self.pos
        self.pos += n
        if keep == 0:
            return None
        if n > keep:
            raise LimitExceeded(
                f"GGUF {what} length", keep, "raise limits.max_metadata_bytes if trusted"
            )
        return bytes(self.data[start : self.pos]).decode("utf-8", "replace")

    def tick(self) -> None:
        self.steps += 1
        if self.steps % 65_536 == 0:
            self.ctx.budget.check_time()

    def skip_value(self, kind: int, depth: int) -> None:
        self.tick()
        if kind in _SCALARS:
            size = struct.calcsize(_SCALARS[kind])
            self.need(size, "metadata value")
            self.pos += size
        elif kind == _STRING:
            self.string("metadata string")
        elif kind == _ARRAY:
            if depth >= _MAX_ARRAY_NESTING:
                raise LimitExceeded(
                    "GGUF array nesting", _MAX_ARRAY_NESTING, "flatten the metadata arrays"
                )
            item = self.u32("array element type")
            if item in _SCALARS:
                size = struct.calcsize(_SCALARS[item])
                n = self.count("array length", size)
                self.need(n * size, "array data")
                self.pos += n * size
                return
            if item not in (_STRING, _ARRAY):
                raise MalformedInput(f"unknown GGUF array element type {item}")
            n = self.count("array length", 8 if self.wide else 4)
            for _ in range(n):
                self.skip_value(item, depth + 1)
        else:
            raise MalformedInput(f"unknown GGUF value type {kind} at byte {self.pos - 4}")


def _header(r: _Reader) -> _Parsed:
    r.need(8, "GGUF header")
    r.pos = 4
    version = r.u32("version")
    if not 1 <= version <= 3:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if not 1 <= swapped <= 3:
            raise MalformedInput(f"unsupported GGUF version {version}")
        r.endian, version = ">", swapped
    r.wide = version >= 2
    return _Parsed(version)


def _metadata(r: _Reader, parsed: _Parsed, n_tensors_min: int) -> int:
    n_tensors = r.count("tensor count", n_tensors_min)
    n_kv = r.count("metadata count", 13 if r.wide else 9)
    limit = r.ctx.limits.max_metadata_bytes
    for _ in range(n_kv):
        r.tick()
        key = r.string("metadata key", keep=_MAX_KEY) or ""
        kind = r.u32("metadata value type")
        parsed.keys.append(key)
        if kind == _STRING and _is_template_key(key):
            parsed.templates.append((key, r.string("chat template", keep=limit) or ""))
        elif key == "general.alignment" and kind == 4:
            parsed.alignment = r.u32("general.alignment")
        else:
            r.skip_value(kind, 0)
    return n_tensors


def _tensor_infos(r: _Reader, parsed: _Parsed, n_tensors: int) -> None:
    for _ in range(n_tensors):
        r.tick()
        at = r.pos
        name = r.string("tensor name", keep=1 << 16) or ""
        n_dims = r.u32("tensor dimension count")
        r.need(n_dims * (8 if r.wide else 4), "tensor dimensions")
        dims = [int(r.scalar("Q" if r.wide else "I", "dimension")) for _ in range(n_dims)]
        kind = r.u32("tensor type")
        offset = int(r.scalar("Q", "tensor offset"))
        parsed.tensors.append(_Tensor(name, dims, kind, offset, at))
    align = parsed.alignment
    if align == 0 or align & (align - 1):
        raise MalformedInput(f"general.alignment {align} is not a power of two")
    parsed.data_start = -(-r.pos // align) * align


def _tensor_problems(parsed: _Parsed, size: int) -> list[str]:
    """Layout anomalies; raises MalformedInput for tensors outside the file."""
    problems: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for t in parsed.tensors:
        label = f"tensor {t.name[:80]!r}"
        if len(t.name.encode()) >= _MAX_NAME:
            problems.append(f"{label}: name longer than {_MAX_NAME - 1} bytes")
        if len(t.dims) > _MAX_DIMS:
            problems.append(f"{label}: {len(t.dims)} dimensions (llama.cpp allows {_MAX_DIMS})")
        if t.offset % parsed.alignment:
            problems.append(f"{label}: offset {t.offset} not aligned to {parsed.alignment}")
        geometry = _GGML_TYPES.get(t.kind)
        if geometry is None:
            problems.append(f"{label}: unknown tensor type {t.kind}")
            continue
        block, type_size = geometry
        elements = 1
        for d in t.dims:
            elements *= d
        if t.dims and t.dims[0] % block:
            problems.append(f"{label}: first dimension not a multiple of block size {block}")
        nbytes = -(-elements // block) * type_size
        start = parsed.data_start + t.offset
        if start + nbytes > size:
            raise MalformedInput(
                f"{label} data ({nbytes} bytes at {start}) runs past the end of the file"
            )
        spans.append((start, start + nbytes, t.name))
    covered, owner = 0, ""
    for start, end, name in sorted(spans):
        if start < covered and end > start:
            problems.append(f"tensors {owner[:80]!r} and {name[:80]!r} share bytes at {start}")
        if end > covered:
            covered, owner = end, name
    return problems


def _duplicates(names: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    return dups


def _findings(parsed: _Parsed, where: Location, size: int) -> list[Finding]:
    findings: list[Finding] = []
    for key in _duplicates(parsed.keys)[:_MAX_REPORTED]:
        findings.append(DUPLICATE.finding(where, f"metadata key {key[:200]!r} appears twice"))
    for name in _duplicates([t.name for t in parsed.tensors])[:_MAX_REPORTED]:
        findings.append(DUPLICATE.finding(where, f"tensor name {name[:200]!r} appears twice"))
    problems = _tensor_problems(parsed, size)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        findings.append(LAYOUT.finding(where, shown))
    for key, text in parsed.templates:
        findings.extend(template_findings(text, where, key))
    return findings


class GgufScanner:
    name = "gguf"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        r = _Reader(blob.view(), ctx)
        parsed = _header(r)
        n_tensors = _metadata(r, parsed, 0)
        # Now that the metadata's size is known, a tensor count the rest cannot hold is a lie.
        min_info = 8 + 4 + 4 + 8 if r.wide else 4 + 4 + 4 + 8
        if n_tensors > (len(r.data) - r.pos) // min_info:
            raise MalformedInput(f"tensor count {n_tensors} cannot fit in the file")
        _tensor_infos(r, parsed, n_tensors)
        return _findings(parsed, blob.location, blob.size)
