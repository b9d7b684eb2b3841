"""Run every service probe against one URL and report in mlwarden's usual shape.

The result is a :class:`~mlwarden.findings.Report` with one entry for the URL, so the
table, JSON and SARIF renderers and the exit-code contract work unchanged. A target that
does not answer its first request at all is a usage error (wrong URL, service down), not
a clean result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mlwarden import __version__
from mlwarden.errors import UsageError
from mlwarden.findings import FileResult, Finding, Location, Report, ScanStatus, Severity
from mlwarden.probe.http_fetch import Answer, FetchError, Target, fetch, parse_target
from mlwarden.probe.service_probes import PLAINTEXT, PROBES
from mlwarden.scanners.config.addresses import Reach, host_reach

DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 120.0


@dataclass
class ProbeOutcome:
    """Findings about one URL and the requests that failed along the way."""

    target: Target
    findings: list[Finding] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def probe_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> ProbeOutcome:
    """Probe ``url`` for unauthenticated ML services with bounded GETs.

    Raises :class:`UsageError` for a URL that is not http(s), carries credentials, or
    does not answer at all.
    """
    if not 0 < timeout <= MAX_TIMEOUT:
        raise UsageError("--timeout", f"must be between 0 and {MAX_TIMEOUT:g} seconds", "e.g. 5")
    target = parse_target(url)
    outcome = ProbeOutcome(target)

    def get(path: str) -> Answer | None:
        outcome.requests += 1
        try:
            return fetch(target, path, timeout=timeout)
        except FetchError as exc:
            if outcome.requests == 1:
                raise UsageError(
                    url,
                    f"no answer from {target.origin} ({exc})",
                    "check the URL and that the service is running and reachable",
                ) from None
            outcome.failures.append(f"GET {path}: {exc}")
            return None

    for probe in PROBES:
        report = probe(get)
        outcome.findings.extend(report.findings)
        if report.identified:
            outcome.services.append(report.service)
    if outcome.services and target.scheme == "http" and host_reach(target.host) is Reach.NETWORK:
        outcome.findings.append(
            PLAINTEXT.finding(Location(target.url("/")), f"{', '.join(outcome.services)} over http")
        )
    return outcome


def probe_report(
    url: str, *, timeout: float = DEFAULT_TIMEOUT, fail_on: Severity = Severity.HIGH
) -> Report:
    """:func:`probe_url` as a report (one entry, the URL)."""
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    started = time.perf_counter()
    outcome = probe_url(url, timeout=timeout)
    duration = time.perf_counter() - started
    label = "http-probe" + (f":{'+'.join(outcome.services)}" if outcome.services else "")
    result = FileResult(
        path=url,
        format=label,
        status=ScanStatus.PARTIAL if outcome.failures else ScanStatus.SCANNED,
        size=0,
        sha256=None,
        findings=tuple(outcome.findings),
        duration_s=duration,
    )
    return Report(
        files=(result,),
        started_at=started_at,
        duration_s=duration,
        tool_version=__version__,
        fail_on=fail_on,
    )
