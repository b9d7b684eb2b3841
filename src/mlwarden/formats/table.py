"""The default terminal report: a rich table of findings and a one-line verdict."""

from __future__ import annotations

import io
import os
import sys

from mlwarden.findings import Report, ScanStatus, Severity

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render_table(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width or (None if color else 160),
        highlight=False,
    )
    shown = [f for f in report.findings if f.severity > Severity.INFO or len(report.files) == 1]
    if shown:
        table = Table(show_lines=False, header_style="bold", expand=False)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Location", overflow="fold", max_width=48)
        table.add_column("Finding", overflow="fold")
        for f in sorted(shown, key=lambda f: (-f.severity, f.location.path, f.rule_id)):
            table.add_row(
                Text(f.severity.label.upper(), style=_STYLE[f.severity]),
                f.rule_id,
                str(f.location),
                Text.assemble((f.title, "bold"), "\n", f.evidence, "\n", (f.remediation, "dim")),
            )
        console.print(table)
    partial = [r for r in report.files if r.status is not ScanStatus.SCANNED]
    for r in partial:
        console.print(f"[yellow]![/] {r.path}: {r.status.value} (not every part was verified)")
    counts = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
    verdict = (
        f"[bold red]FAIL[/]: findings at or above {report.fail_on.label}"
        if report.failed
        else f"[bold green]PASS[/]: nothing at or above {report.fail_on.label}"
    )
    console.print(
        f"{len(report.files)} file(s) scanned in {report.duration_s:.2f}s; "
        f"{counts or 'no findings'}. {verdict}"
    )
    return buffer.getvalue()
