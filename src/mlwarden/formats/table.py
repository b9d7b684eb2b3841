"""The default terminal report: a rich table of findings and a one-line verdict."""

from __future__ import annotations

import io
import os
import sys

from mlwarden.findings import Finding, Report, ScanStatus, Severity

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render_table(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    """A rich table on a terminal; plain aligned text when piped (logs, CI, other tools)."""
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if not color:
        return render_plain(report)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width or (None if color else 160),
        highlight=False,
    )
    shown = _shown(report)
    if shown:
        table = Table(show_lines=False, header_style="bold", expand=False)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Location", overflow="fold", max_width=48)
        table.add_column("Finding", overflow="fold")
        fixes: dict[str, str] = {}
        for f in shown:
            table.add_row(
                Text(f.severity.label.upper(), style=_STYLE[f.severity]),
                f.rule_id,
                str(f.location),
                Text.assemble((f.title, "bold"), "\n", f.evidence),
            )
            fixes.setdefault(f.rule_id, f.remediation)
        console.print(table)
        for rule, text in sorted(fixes.items()):
            console.print(f"[bold]{rule}[/]: {text}", highlight=False)
    for r in report.files:
        if r.status is not ScanStatus.SCANNED:
            console.print(f"[yellow]![/] {r.path}: {r.status.value} (not every part was verified)")
    summary = _summary(report)
    style = "bold red" if report.failed else "bold green"
    head, _, verdict = summary.rpartition(". ")
    console.print(f"{head}. [{style}]{verdict}[/]")
    return buffer.getvalue()


def _shown(report: Report) -> list[Finding]:
    return sorted(
        (f for f in report.findings if f.severity > Severity.INFO or len(report.files) == 1),
        key=lambda f: (-f.severity, f.location.path, f.rule_id),
    )


def _summary(report: Report) -> str:
    counts = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
    verdict = (
        f"FAIL: findings at or above {report.fail_on.label}"
        if report.failed
        else f"PASS: nothing at or above {report.fail_on.label}"
    )
    return (
        f"{len(report.files)} file(s) scanned in {report.duration_s:.2f}s; "
        f"{counts or 'no findings'}. {verdict}"
    )


def render_plain(report: Report) -> str:
    """Findings as indented plain text, one block per finding, then the verdict."""
    lines: list[str] = []
    fixes: dict[str, str] = {}
    for f in _shown(report):
        lines.append(f"{f.severity.label.upper():<8} {f.rule_id}  {f.location}")
        lines.append(f"         {f.title}")
        lines.append(f"         {f.evidence}")
        fixes.setdefault(f.rule_id, f.remediation)
    if fixes:
        lines.append("")
        lines.extend(f"fix {rule}: {text}" for rule, text in sorted(fixes.items()))
    for r in report.files:
        if r.status is not ScanStatus.SCANNED:
            lines.append(f"! {r.path}: {r.status.value} (not every part was verified)")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"
