"""safetensors files: a length, a JSON header, raw tensor bytes.

The format cannot carry code, so the risks are in the header: a shape the reference
loader rejects (a malformed file), JSON that different readers parse differently
(duplicate keys: Rust and Python keep the last, others the first), tensors sharing bytes,
and bytes no tensor claims (room to hide a payload). The reference loader rejects gaps,
overlaps and unknown dtypes; other readers may not, which is why they are reported.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput, ScanContext
from mlwarden.taxonomy import (
    ATLAS_SUPPLY_CHAIN_MODEL,
    CWE_IMPROPER_INPUT,
    CWE_INTERPRETATION_CONFLICT,
)

DUPLICATE_KEY = Rule(
    "MLW-ST-001",
    "Duplicate key in the safetensors header",
    Severity.HIGH,
    "Do not use this file: readers disagree on which duplicate wins, so the tensor a "
    "reviewer sees may not be the one a loader uses. Re-save it from its source.",
    (CWE_INTERPRETATION_CONFLICT, ATLAS_SUPPLY_CHAIN_MODEL),
)
OVERLAP = Rule(
    "MLW-ST-002",
    "safetensors tensors share bytes",
    Severity.MEDIUM,
    "Re-save the file with the safetensors library; the reference loader rejects "
    "overlapping tensors, so another reader produced or accepts it.",
    (CWE_INTERPRETATION_CONFLICT, CWE_IMPROPER_INPUT),
)
UNCLAIMED = Rule(
    "MLW-ST-003",
    "safetensors data section has bytes no tensor uses",
    Severity.LOW,
    "Re-save the file with the safetensors library to drop the extra bytes; check where "
    "the file came from if they hold anything recognisable.",
    (CWE_IMPROPER_INPUT,),
)
BAD_METADATA = Rule(
    "MLW-ST-004",
    "safetensors __metadata__ is not a map of strings",
    Severity.MEDIUM,
    "The reference loader rejects this header; re-save the file with string metadata.",
    (CWE_IMPROPER_INPUT, CWE_INTERPRETATION_CONFLICT),
)
RULES = (DUPLICATE_KEY, OVERLAP, UNCLAIMED, BAD_METADATA)

# Bits per element, for every dtype the reference implementation accepts.
_DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "C64": 64,
}
_MAX_REPORTED = 20


def _pairs_hook(duplicates: list[str]) -> object:
    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in pairs:
            if key in out:
                duplicates.append(key)
            out[key] = value  # last wins, as in the Rust and Python readers
        return out

    return hook


def _header(data: memoryview, ctx: ScanContext) -> tuple[dict[str, object], list[str], int]:
    if len(data) < 8:
        raise MalformedInput("safetensors file is shorter than its 8-byte length prefix")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > len(data) - 8:
        raise MalformedInput(f"header length {n} is larger than the file")
    if n > ctx.limits.max_metadata_bytes:
        raise LimitExceeded(
            "safetensors header size",
            ctx.limits.max_metadata_bytes,
            "raise limits.max_metadata_bytes if the header is trusted to be this large",
        )
    duplicates: list[str] = []
    try:
        text = bytes(data[8 : 8 + n]).decode("utf-8")
        header = json.loads(text, object_pairs_hook=_pairs_hook(duplicates))  # type: ignore[arg-type]
    except RecursionError:
        raise MalformedInput("header JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedInput(f"header is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise MalformedInput("header is not a JSON object")
    return header, duplicates, 8 + n


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor_span(name: str, info: object, data_size: int) -> tuple[int, int]:
    """The (begin, end) of a valid tensor entry; MalformedInput names what is wrong."""
    label = f"tensor {name[:80]!r}"
    if not isinstance(info, dict):
        raise MalformedInput(f"{label} is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _DTYPE_BITS:
        raise MalformedInput(f"{label} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise MalformedInput(f"{label} shape {shape!r} is not a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets):
        raise MalformedInput(f"{label} data_offsets {offsets!r} is not [begin, end]")
    begin, end = int(offsets[0]), int(offsets[1])
    if begin > end or end > data_size:
        raise MalformedInput(
            f"{label} data_offsets [{begin}, {end}] fall outside the {data_size}-byte data"
        )
    elements = 1
    for d in shape:
        elements *= int(d)
    bits = elements * _DTYPE_BITS[dtype]
    if bits % 8 or bits // 8 != end - begin:
        raise MalformedInput(
            f"{label} holds {end - begin} bytes but {dtype} {shape} needs {bits / 8:g}"
        )
    return begin, end


def _layout_findings(
    spans: list[tuple[int, int, str]], data_size: int, where: Location
) -> list[Finding]:
    findings: list[Finding] = []
    covered = 0
    gaps: list[str] = []
    for begin, end, name in sorted(spans):
        if begin < covered:
            if len(findings) < _MAX_REPORTED:
                findings.append(
                    OVERLAP.finding(
                        where, f"tensor {name[:80]!r} starts at {begin}, inside bytes already used"
                    )
                )
        elif begin > covered:
            gaps.append(f"{begin - covered} bytes at {covered}")
        covered = max(covered, end)
    if covered < data_size:
        gaps.append(f"{data_size - covered} trailing bytes at {covered}")
    if gaps:
        findings.append(UNCLAIMED.finding(where, "; ".join(gaps[:5])))
    return findings


class SafetensorsScanner:
    name = "safetensors"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        data = blob.view()
        header, duplicates, data_start = _header(data, ctx)
        where = blob.location
        findings = [
            DUPLICATE_KEY.finding(where, f"key {key[:200]!r} appears more than once")
            for key in dict.fromkeys(duplicates)
        ][:_MAX_REPORTED]
        metadata = header.get("__metadata__")
        if metadata is not None and not (
            isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        ):
            findings.append(BAD_METADATA.finding(where, f"__metadata__ is {_describe(metadata)}"))
        data_size = len(data) - data_start
        spans: list[tuple[int, int, str]] = []
        for n, (name, info) in enumerate(header.items()):
            if n % 4096 == 0:
                ctx.budget.check_time()
            if name != "__metadata__":
                spans.append((*_tensor_span(name, info, data_size), name))
        findings.extend(_layout_findings(spans, data_size, where))
        return findings


def _describe(value: object) -> str:
    if isinstance(value, dict):
        bad = [k for k, v in value.items() if not isinstance(v, str)]
        return f"a map whose {bad[0][:60]!r} value is a {type(value[bad[0]]).__name__}"
    return f"a {type(value).__name__}, not a map"
