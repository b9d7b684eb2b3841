"""Running the data scanners directly, the way the engine does (until they are registered)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from mlwarden.findings import FileResult, Finding, Location, Report, ScanStatus
from mlwarden.formats.json_report import render_json
from mlwarden.formats.sarif import render_sarif
from mlwarden.scanners.base import (
    LIMIT_RULE,
    MALFORMED_RULE,
    Blob,
    Budget,
    LimitExceeded,
    MalformedInput,
    ScanContext,
    Scanner,
    ScanSettings,
)
from mlwarden.scanners.data.settings import DataScanSettings


def context(
    pii: DataScanSettings | None = None, settings: ScanSettings | None = None
) -> ScanContext:
    settings = settings or ScanSettings(pii=pii)
    budget = Budget(settings.limits, time.monotonic() + settings.limits.max_seconds)
    return ScanContext(budget=budget, settings=settings, scan_member=lambda b: iter(()))


def run(
    scanner: Scanner,
    data: bytes,
    name: str = "data.csv",
    *,
    pii: DataScanSettings | None = None,
    ctx: ScanContext | None = None,
) -> tuple[list[Finding], ScanContext]:
    """Findings of ``scanner`` on ``data``; limits and malformed input become findings as
    the engine's dispatcher makes them (findings yielded before the error are kept)."""
    ctx = ctx or context(pii)
    blob = Blob(data, Location(name), name)
    findings: list[Finding] = []
    try:
        for finding in scanner.scan(blob, ctx):
            findings.append(finding)
    except LimitExceeded as exc:
        ctx.incomplete.append(exc.what)
        findings.append(LIMIT_RULE.finding(blob.location, f"{exc.what} exceeded"))
    except MalformedInput as exc:
        ctx.incomplete.append("malformed")
        findings.append(MALFORMED_RULE.finding(blob.location, f"{scanner.name}: {exc}"))
    return findings, ctx


def rendered(findings: Iterable[Finding], path: str = "data.csv") -> tuple[str, str]:
    """The JSON and SARIF reports of ``findings`` as a user would read them."""
    result = FileResult(path, "csv", ScanStatus.SCANNED, 0, None, tuple(findings), 0.0)
    report = Report((result,), "2026-01-01T00:00:00+00:00", 0.0, "test")
    text = render_json(report)
    json.loads(text)
    return text, render_sarif(report)


def by_rule(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.rule_id, []).append(f)
    return out
