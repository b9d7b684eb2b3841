"""Run the configuration scanners the way the engine will: sniff the format, build the
scanner from its registry spec, scan with a real budget."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, replace

from mlwarden.findings import Finding, Location
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, Budget, ScanContext, Scanner, ScanSettings
from mlwarden.scanners.config.sniffing import FORMATS, sniff_config_format


@dataclass(frozen=True)
class Outcome:
    format: str
    findings: list[Finding]
    incomplete: list[str]

    def ids(self) -> list[str]:
        return [f.rule_id for f in self.findings]

    def of(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]


def scanner_for(fmt: str) -> Scanner:
    module, _, cls = FORMATS[fmt].partition(":")
    scanner: Scanner = getattr(importlib.import_module(module), cls)()
    return scanner


def scan_config(name: str, content: str | bytes, **limits: int | float) -> Outcome:
    """Scan ``content`` as a file called ``name``."""
    data = content.encode() if isinstance(content, str) else content
    fmt = sniff_config_format(name, data[:4096])
    assert fmt is not None, f"{name} was not recognised as configuration"
    settings = ScanSettings(limits=replace(Limits(), **limits))
    budget = Budget(settings.limits, time.monotonic() + settings.limits.max_seconds)
    ctx = ScanContext(budget, settings, lambda _blob: iter(()))
    findings = list(scanner_for(fmt).scan(Blob(data, Location(name), name), ctx))
    return Outcome(fmt, findings, list(ctx.incomplete))
