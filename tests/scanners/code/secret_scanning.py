"""Running the secrets scanners in tests without the engine's format detection."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from mlwarden.findings import Finding, Location
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, Budget, ScanContext, ScanSettings
from mlwarden.scanners.code import NotebookSecretsScanner, SecretScanOptions, SourceSecretsScanner


def context(seconds: float = 60.0) -> ScanContext:
    def no_members(_blob: Blob) -> Iterator[Finding]:
        return iter(())

    budget = Budget(Limits(), time.monotonic() + seconds)
    return ScanContext(budget=budget, settings=ScanSettings(), scan_member=no_members)


def scan_source(data: bytes | str, name: str = "config.py", **options: object) -> list[Finding]:
    raw = data.encode() if isinstance(data, str) else data
    scanner = SourceSecretsScanner(SecretScanOptions(**options))  # type: ignore[arg-type]
    return list(scanner.scan(Blob(raw, Location(name), name), context()))


def scan_notebook(data: bytes, name: str = "train.ipynb", **options: object) -> list[Finding]:
    scanner = NotebookSecretsScanner(SecretScanOptions(**options))  # type: ignore[arg-type]
    return list(scanner.scan(Blob(data, Location(name), name), context()))


def rule_ids(findings: Iterable[Finding]) -> list[str]:
    return [f.rule_id for f in findings]
