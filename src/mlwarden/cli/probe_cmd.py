"""The body of `mlwarden probe URL`: check a running endpoint for unauthenticated ML
services. Exit codes: 0 nothing at or above high, 1 findings at or above high, 2 usage
error (bad URL or format, nothing answering)."""

from __future__ import annotations

import sys

from mlwarden.errors import UsageError


def probe_command(url: str, format: str = "table", timeout: float = 5.0) -> int:
    """Probe ``url``, print the report in ``format`` (table, json, sarif), return the exit
    code."""
    from mlwarden.cli.scan_run import write_output
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.probe.probe_run import probe_report

    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        report = probe_report(url, timeout=timeout)
        write_output(get_renderer(format)(report), None)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    return 1 if report.failed else 0
