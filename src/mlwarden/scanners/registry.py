"""Which scanner reads which detected format. Adding a format is one line here."""

from __future__ import annotations

from mlwarden.findings import Rule
from mlwarden.scanners.base import ENGINE_RULES, Scanner
from mlwarden.scanners.model.containers import CompressedScanner, TarScanner, ZipScanner
from mlwarden.scanners.model.numpy_format import NumpyScanner
from mlwarden.scanners.model.pickle_scanner import PickleScanner

_compressed = CompressedScanner()

SCANNERS: dict[str, Scanner] = {
    "pickle": PickleScanner(),
    "zip": ZipScanner(),
    "tar": TarScanner(),
    "numpy": NumpyScanner(),
    "gzip": _compressed,
    "zlib": _compressed,
    "bz2": _compressed,
    "xz": _compressed,
    "lzma": _compressed,
    "lz4": _compressed,
    "joblib-zfile": _compressed,
}


def all_rules() -> tuple[Rule, ...]:
    """Every rule any scanner can report, each once, sorted by id."""
    rules: dict[str, Rule] = {r.id: r for r in ENGINE_RULES}
    for scanner in SCANNERS.values():
        for rule in scanner.rules:
            rules.setdefault(rule.id, rule)
    from mlwarden.scanners.unknown import RULES as UNKNOWN_RULES

    for rule in UNKNOWN_RULES:
        rules.setdefault(rule.id, rule)
    return tuple(sorted(rules.values(), key=lambda r: r.id))
