"""The body of `mlwarden monitor REFERENCE CURRENT`: test windows of a live-data file
against a reference (a data file or a saved profile). Exit codes: 0 no drift, 1 drift or
another monitor finding in some window, 2 usage error."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from mlwarden.monitor.alerts import AlertSink


def monitor_command(
    reference: str,
    current: str,
    *,
    label: str | None = None,
    format: str = "table",
    window: int = 500,
    sinks: list[str] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    plot: str | None = None,
    save_profile: str | None = None,
) -> int:
    """Compare ``current`` (CSV/Parquet), cut into windows of ``window`` rows, with
    ``reference`` (CSV/Parquet, or a profile ``.json``); print findings in ``format``
    (table, json, sarif); send alerts to ``sinks`` (``log``, ``webhook:URL``,
    ``slack:URL``, ``smtp://host:port?from=A&to=B[&starttls=0]``); write an HTML chart to
    ``plot``; save the fitted profile to ``save_profile``. ``label`` names the label or
    prediction column, tested as a category. Returns the exit code."""
    try:
        return _run(
            reference, current, label, format, window, sinks or [], alpha, correction, plot,
            save_profile,
        )  # fmt: skip
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2


def _run(
    reference: str,
    current: str,
    label: str | None,
    format: str,
    window: int,
    sink_specs: list[str],
    alpha: float,
    correction: str,
    plot: str | None,
    save_profile_to: str | None,
) -> int:
    from pathlib import Path

    from mlwarden import __version__
    from mlwarden.cli.scan_run import write_output
    from mlwarden.findings import FileResult, Location, Report, ScanStatus, Severity
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.ml.base import Dataset
    from mlwarden.monitor.alerts import AlertRouter, Route, alerts_from_result
    from mlwarden.monitor.drift_check import MIN_WINDOW_ROWS, DriftCheck
    from mlwarden.monitor.profile import ReferenceProfile
    from mlwarden.monitor.profile_json import load_profile, save_profile
    from mlwarden.monitor.table_reader import read_table

    if format not in FORMATS:
        raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
    if not MIN_WINDOW_ROWS <= window <= 1_000_000:
        raise UsageError("--window", f"is {window}", f"use {MIN_WINDOW_ROWS}..1000000 rows")
    router = AlertRouter([Route(_sink(spec)) for spec in sink_specs])
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    if reference.lower().endswith(".json"):
        profile = load_profile(reference)
    else:
        ref_data = read_table(reference)
        if label is not None and label not in ref_data.names:
            raise UsageError("--label", f"{reference} has no column {label!r}", "check the name")
        profile = ReferenceProfile.fit(ref_data, categorical=(label,) if label else ())
    if save_profile_to is not None:
        save_profile(profile, save_profile_to)
    check = DriftCheck(profile, alpha=alpha, correction=correction)  # type: ignore[arg-type]
    live = read_table(current)
    findings = []
    results = []
    for start in range(0, live.n_samples, window):
        stop = min(start + window, live.n_samples)
        if stop - start < MIN_WINDOW_ROWS:
            break
        chunk = Dataset(X=live.X[start:stop], feature_names=live.names, source=current)
        result = check.run(chunk)
        results.append(result)
        for f in result.findings:
            where = Location(path=current, line=start + 1, field=f.location.field)
            findings.append(type(f)(**{**f.__dict__, "location": where}))
        router.dispatch(alerts_from_result(result, monitor=f"{Path(current).name}@{start + 1}"))
    for failure in router.failures:
        print(
            f"mlwarden: warning: alert to {failure.sink} failed: {failure.error}", file=sys.stderr
        )
    if plot is not None:
        from mlwarden.monitor.plots import drift_history_svg, html_page

        write_output(
            html_page(f"drift of {current}", [drift_history_svg(results, alpha)]), Path(plot)
        )
    size = Path(current).stat().st_size
    file_result = FileResult(
        path=current,
        format="table",
        status=ScanStatus.SCANNED,
        size=size,
        sha256=None,
        findings=tuple(findings),
        duration_s=time.perf_counter() - clock,
    )
    report = Report(
        files=(file_result,),
        started_at=started,
        duration_s=time.perf_counter() - clock,
        tool_version=__version__,
        fail_on=Severity.MEDIUM,
    )
    write_output(get_renderer(format)(report), None)
    return 1 if report.failed else 0


def _sink(spec: str) -> AlertSink:
    """Build a sink from its command-line spelling."""
    from mlwarden.monitor.alerts import LogSink, SmtpSink, WebhookSink

    if spec == "log":
        return LogSink()
    if spec.startswith("webhook:"):
        return WebhookSink(spec.removeprefix("webhook:"))
    if spec.startswith("slack:"):
        return WebhookSink(spec.removeprefix("slack:"), slack=True)
    if spec.startswith("smtp://"):
        parts = urlsplit(spec)
        query = parse_qs(parts.query)
        if not parts.hostname or "from" not in query or "to" not in query:
            raise UsageError("--sink", "smtp sink needs host, from= and to=", "see --help")
        return SmtpSink(
            parts.hostname,
            parts.port or 25,
            sender=query["from"][0],
            recipients=query["to"],
            starttls=query.get("starttls", ["1"])[0] not in ("0", "false", "no"),
        )
    raise UsageError(
        "--sink",
        f"unknown sink {spec.split(':')[0]!r}",
        "use log, webhook:URL, slack:URL or smtp://...",
    )
