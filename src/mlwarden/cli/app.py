"""``mlwarden`` command line. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage or input error."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from mlwarden import __version__
from mlwarden.errors import UsageError

app = typer.Typer(
    name="mlwarden",
    help="Security control plane for ML pipelines. Scans model files without loading them.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"mlwarden {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """mlwarden: catch malicious models, data and configuration before they load."""


def _write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    # Write next to the target and rename, so a failed run never leaves half a report.
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


def _fail(exc: UsageError) -> None:
    print(f"mlwarden: error: {exc}", file=sys.stderr)
    raise typer.Exit(2)


@app.command()
def scan(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders to scan; '-' reads standard input.")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a finding is at or above: critical|high|medium|low|info."),
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Configuration file (default: ./mlwarden.toml if present).")
    ] = None,
    allow_global: Annotated[
        list[str] | None,
        typer.Option(help="Treat this pickle callable (module.name or module.*) as safe."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds allowed per file (default 300).")
    ] = None,
    digest: Annotated[bool, typer.Option(help="Record each file's SHA-256 in the report.")] = False,
    progress: Annotated[
        bool, typer.Option(help="Show a progress bar on long folder scans (on a terminal).")
    ] = True,
) -> None:
    """Scan model files and folders statically; never loads or runs them."""
    from mlwarden.config import _globals, load_config
    from mlwarden.engine import collect_targets, scan_paths
    from mlwarden.findings import Severity
    from mlwarden.formats import FORMATS, get_renderer

    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        cfg = load_config(config)
        settings = cfg.settings
        if allow_global:
            extra = _globals(list(allow_global), "--allow-global", "--allow-global")
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
        with _progress_bar(total) as tick:
            report = scan_paths(paths, settings, fail_on=threshold, digest=digest, progress=tick)
        _write_output(get_renderer(format)(report), output)
    except UsageError as exc:
        _fail(exc)
        return
    raise typer.Exit(1 if report.failed else 0)


class _progress_bar:
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


@app.command()
def rules(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List every rule mlwarden can report, with its default severity."""
    import json

    from mlwarden.scanners.registry import all_rules

    catalog = all_rules()
    if format == "json":
        data = [
            {
                "id": r.id,
                "severity": r.severity.label,
                "title": r.title,
                "remediation": r.remediation,
                "tags": list(r.tags),
            }
            for r in catalog
        ]
        print(json.dumps(data, indent=2))
        return
    if format != "table":
        _fail(UsageError("--format", f"unknown format {format!r}", "use table or json"))
    for r in catalog:
        print(f"{r.id:<14} {r.severity.label:<9} {r.title}")


def main() -> None:
    """Console-script entry point."""
    app()
