"""The body of `mlwarden scan`, shared by the typer command and the fast path."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from mlwarden.findings import Report
    from mlwarden.scanners.code.baseline import Baseline


def write_output(text: str, output: Path | None) -> None:
    """Print ``text`` or write it to ``output`` atomically (never half a report)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    import tempfile

    directory = output.resolve().parent
    if not directory.is_dir():
        raise UsageError(str(output), "its folder does not exist", "create the folder first")
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_scan(
    paths: list[str],
    *,
    format: str = "table",
    output: Path | None = None,
    fail_on: str | None = None,
    config: str | None = None,
    allow_global: list[str] | None = None,
    timeout: float | None = None,
    digest: bool = False,
    progress: bool = True,
    baseline: str | None = None,
    write_baseline: str | None = None,
) -> int:
    """Scan, render, and return the exit code (0 clean, 1 findings, 2 usage error).

    ``baseline`` drops the secrets a baseline file accepts; ``write_baseline`` records every
    secret found in this scan as accepted (fingerprints only, never the secrets).
    """
    from mlwarden.config import load_config, parse_globals
    from mlwarden.engine import collect_targets, scan_paths
    from mlwarden.findings import Severity
    from mlwarden.formats import FORMATS, get_renderer

    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        cfg = load_config(config)
        settings = cfg.settings
        if allow_global:
            extra = parse_globals(list(allow_global), "--allow-global", "--allow-global")
            settings = replace(
                settings, extra_allowed_globals=settings.extra_allowed_globals | extra
            )
        if timeout is not None:
            if timeout <= 0:
                raise UsageError("--timeout", "must be a positive number of seconds", "e.g. 600")
            settings = replace(settings, limits=replace(settings.limits, max_seconds=timeout))
        try:
            threshold = Severity.parse(fail_on) if fail_on else cfg.fail_on
        except ValueError as exc:
            raise UsageError("--fail-on", str(exc), "pick one of the listed values") from None
        total = len(collect_targets(paths)) if progress and sys.stderr.isatty() else 0
        accepted = None
        if baseline is not None:
            from mlwarden.scanners.code.baseline import load_baseline

            accepted = load_baseline(baseline)
        with _ProgressBar(total) as tick:
            report = scan_paths(paths, settings, fail_on=threshold, digest=digest, progress=tick)
        if accepted is not None:
            report = _without_baselined(report, accepted)
        if write_baseline is not None:
            from mlwarden.scanners.code.baseline import write_baseline as save_baseline

            count = save_baseline(report.findings, write_baseline)
            print(f"baseline: {count} secret(s) accepted in {write_baseline}", file=sys.stderr)
        write_output(get_renderer(format)(report), output)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    return 1 if report.failed else 0


def _without_baselined(report: Report, accepted: Baseline) -> Report:
    from mlwarden.scanners.code.baseline import drop_baselined

    files = tuple(
        replace(r, findings=tuple(drop_baselined(r.findings, accepted))) for r in report.files
    )
    return replace(report, files=files)


class _ProgressBar:
    """A rich progress bar on stderr for scans of many files; a no-op otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Callable[[int, int, str], None] | None:
        if self.total < 20:
            return None
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        task = bar.add_task("scanning", total=self.total)
        bar.start()
        self._bar = bar

        def tick(done: int, total: int, path: str) -> None:
            bar.update(task, completed=done, description=Path(path).name[:40])

        return tick

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
