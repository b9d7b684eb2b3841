"""HDF5 files (Keras ``.h5``): the model config stored in the root attributes.

Keras writes ``model_config`` and ``training_config`` as JSON attributes; loading the file
rebuilds the model from them, Lambda layers included (safe mode does not apply to HDF5:
CVE-2025-9905). Only those attributes are read, by :mod:`hdf5_reader` (pure Python,
bounded); datasets (the weights) are never touched and no HDF5 library runs.

Attribute values cannot be compressed in HDF5, so any config a loader reads appears
verbatim in the file: Keras config text found anywhere outside the attributes that were
read means the file is laid out in a way this reader and libhdf5 may see differently.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlwarden.findings import Finding, Rule, Severity
from mlwarden.scanners.base import Blob, ScanContext
from mlwarden.scanners.model.hdf5_reader import root_attributes
from mlwarden.scanners.model.keras_config import KERAS_RULES, analyse_keras_config, parse_json
from mlwarden.taxonomy import ATLAS_SUPPLY_CHAIN_MODEL, CWE_INTERPRETATION_CONFLICT

UNREAD_CONFIG = Rule(
    "MLW-KER-007",
    "Keras config in an HDF5 file could not be fully read",
    Severity.HIGH,
    "Treat the model as unverified: re-save it with h5py's default settings, or load it "
    "only if you trust its source.",
    (CWE_INTERPRETATION_CONFLICT, ATLAS_SUPPLY_CHAIN_MODEL),
    "The root group keeps attributes in dense storage, or Keras config text sits outside "
    "the attributes that were read (stale data, or a layout crafted for one reader).",
)
RULES = (*KERAS_RULES, UNREAD_CONFIG)
_WANTED = frozenset({"model_config", "training_config"})
_CONFIG_TEXT = b'"class_name"'
_MAX_OCCURRENCES = 10_000


def _find_all(blob: Blob, needle: bytes) -> list[int]:
    find = getattr(blob.data, "find", None)
    if find is None:  # a memoryview: search a copy
        find = bytes(blob.data).find
    found: list[int] = []
    at = find(needle)
    while at >= 0 and len(found) < _MAX_OCCURRENCES:
        found.append(at)
        at = find(needle, at + 1)
    return found


class Hdf5Scanner:
    name = "hdf5"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        attributes = root_attributes(blob.view(), _WANTED, ctx.limits.max_metadata_bytes)
        findings: list[Finding] = []
        spans: list[tuple[int, int]] = []
        for attr in attributes.strings:
            spans.append((attr.offset, attr.offset + len(attr.value)))
            doc = parse_json(attr.value, ctx.limits, f"attribute {attr.name}")
            findings.extend(analyse_keras_config(doc, blob.location, ctx, attr.name))
        stray = [
            at for at in _find_all(blob, _CONFIG_TEXT) if not any(a <= at < b for a, b in spans)
        ]
        named = any(_find_all(blob, name.encode()) for name in sorted(_WANTED))
        if stray:
            text = f"Keras config text at {len(stray)} place(s) outside the attributes read"
            findings.append(UNREAD_CONFIG.finding(blob.location.at(stray[0]), text))
        elif attributes.dense_storage and named and not attributes.strings:
            text = "the root group keeps its attributes in dense storage"
            findings.append(UNREAD_CONFIG.finding(blob.location, text))
        return findings
