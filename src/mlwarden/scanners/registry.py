"""Which scanner reads which detected format. Adding a format is one line here.

Scanner modules are imported on first use, so a scan of one PyTorch checkpoint does not
pay for importing the ONNX, Keras or GGUF analysers.
"""

from __future__ import annotations

import importlib
from typing import cast

from mlwarden.findings import Rule
from mlwarden.scanners.base import ENGINE_RULES, Scanner

_MODEL = "mlwarden.scanners.model"
_SPECS: dict[str, str] = {
    "pickle": f"{_MODEL}.pickle_scanner:PickleScanner",
    "zip": f"{_MODEL}.containers:ZipScanner",
    "tar": f"{_MODEL}.containers:TarScanner",
    "numpy": f"{_MODEL}.numpy_format:NumpyScanner",
    "gzip": f"{_MODEL}.containers:CompressedScanner",
    "zlib": f"{_MODEL}.containers:CompressedScanner",
    "bz2": f"{_MODEL}.containers:CompressedScanner",
    "xz": f"{_MODEL}.containers:CompressedScanner",
    "lzma": f"{_MODEL}.containers:CompressedScanner",
    "lz4": f"{_MODEL}.containers:CompressedScanner",
    "joblib-zfile": f"{_MODEL}.containers:CompressedScanner",
    "json": f"{_MODEL}.keras_config:KerasConfigScanner",
    "hdf5": f"{_MODEL}.hdf5_format:Hdf5Scanner",
    "onnx": f"{_MODEL}.onnx_format:OnnxScanner",
    "tf-savedmodel": f"{_MODEL}.savedmodel_format:SavedModelScanner",
    "safetensors": f"{_MODEL}.safetensors_format:SafetensorsScanner",
    "gguf": f"{_MODEL}.gguf_format:GgufScanner",
    "unknown": "mlwarden.scanners.unknown:UnknownScanner",
}
_LOADED: dict[str, Scanner] = {}


def scanner_for(fmt: str) -> Scanner:
    """The scanner for a detected format (the unknown-file scanner for anything else)."""
    spec = _SPECS.get(fmt, _SPECS["unknown"])
    scanner = _LOADED.get(spec)
    if scanner is None:
        module, _, name = spec.partition(":")
        scanner = cast(Scanner, getattr(importlib.import_module(module), name)())
        _LOADED[spec] = scanner
    return scanner


def all_rules() -> tuple[Rule, ...]:
    """Every rule any scanner can report, each once, sorted by id."""
    rules: dict[str, Rule] = {r.id: r for r in ENGINE_RULES}
    for fmt in _SPECS:
        for rule in scanner_for(fmt).rules:
            rules.setdefault(rule.id, rule)
    from mlwarden.engine import INTERNAL_RULE

    rules.setdefault(INTERNAL_RULE.id, INTERNAL_RULE)
    return tuple(sorted(rules.values(), key=lambda r: r.id))
