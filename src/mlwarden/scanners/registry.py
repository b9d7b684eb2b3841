"""Which scanner reads which detected format. Adding a format is one line here.

Scanner modules are imported on first use, so a scan of one PyTorch checkpoint does not
pay for importing the ONNX, Keras or GGUF analysers.
"""

from __future__ import annotations

import importlib
from typing import cast

from mlwarden.findings import Rule
from mlwarden.scanners.base import ENGINE_RULES, Scanner
from mlwarden.scanners.config.sniffing import FORMATS as CONFIG_FORMATS

_MODEL = "mlwarden.scanners.model"
_DATA = "mlwarden.scanners.data.scanners"
_SECRETS = "mlwarden.scanners.code.secrets_scanner"
_PICKLE_PROBE = "mlwarden.scanners.unknown:EmbeddedPickleScanner"
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
    "csv": f"{_DATA}:CsvScanner",
    "tsv": f"{_DATA}:TsvScanner",
    "jsonl": f"{_DATA}:JsonLinesScanner",
    "parquet": f"{_DATA}:ParquetScanner",
    "text": f"{_DATA}:TextScanner",
    "notebook": f"{_SECRETS}:NotebookSecretsScanner",
    "source": f"{_SECRETS}:SourceSecretsScanner",
}
_SPECS.update(CONFIG_FORMATS)

# Formats read by more than one scanner, in order: text can carry secrets and personal
# data at once, and a text file can still be a protocol-0 pickle a loader would run.
_EXTRA: dict[str, tuple[str, ...]] = {
    "notebook": (f"{_DATA}:NotebookScanner",),
    "source": (_PICKLE_PROBE,),
    "text": (f"{_SECRETS}:SourceSecretsScanner", _PICKLE_PROBE),
    "json": (f"{_SECRETS}:SourceSecretsScanner",),
    **{fmt: (f"{_SECRETS}:SourceSecretsScanner", _PICKLE_PROBE) for fmt in CONFIG_FORMATS},
}
TEXT_FORMATS = frozenset(
    {"csv", "tsv", "jsonl", "parquet", "text", "notebook", "source", *CONFIG_FORMATS}
)
"""Formats of data, code and configuration rather than models."""
_LOADED: dict[str, Scanner] = {}


def scanners_for(fmt: str) -> tuple[Scanner, ...]:
    """Every scanner that reads a detected format, the main one first."""
    return (scanner_for(fmt), *(_load(spec) for spec in _EXTRA.get(fmt, ())))


def scanner_for(fmt: str) -> Scanner:
    """The main scanner for a detected format (the unknown-file scanner for anything else)."""
    return _load(_SPECS.get(fmt, _SPECS["unknown"]))


def _load(spec: str) -> Scanner:
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
        for scanner in scanners_for(fmt):
            for rule in scanner.rules:
                rules.setdefault(rule.id, rule)
    from mlwarden.probe.service_probes import RULES as PROBE_RULES

    for rule in PROBE_RULES:
        rules.setdefault(rule.id, rule)
    from mlwarden.engine import INTERNAL_RULE

    rules.setdefault(INTERNAL_RULE.id, INTERNAL_RULE)
    return tuple(sorted(rules.values(), key=lambda r: r.id))
