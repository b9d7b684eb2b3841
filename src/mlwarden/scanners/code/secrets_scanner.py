"""The two secrets scanners: text files of any kind, and Jupyter notebooks.

Both follow the :class:`~mlwarden.scanners.base.Scanner` protocol. Findings are
:class:`~mlwarden.scanners.code.secret_finding.SecretFinding` objects with a line (and,
in notebooks, a ``cell N`` field) and redacted evidence; lines that carry an inline
``mlwarden: ignore`` marker are skipped. Reaching a size limit scans what fits, then
raises :class:`LimitExceeded` so the file is reported as partially scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from mlwarden.findings import Finding, Location, Rule
from mlwarden.limits import MiB
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput, ScanContext
from mlwarden.scanners.code.notebook import parse_notebook
from mlwarden.scanners.code.secret_finding import SecretFinding, secret_finding
from mlwarden.scanners.code.secret_rules import SECRET_RULES
from mlwarden.scanners.code.secret_search import find_secrets
from mlwarden.scanners.code.suppression import is_suppressed


@dataclass(frozen=True)
class SecretScanOptions:
    """Bounds and switches of the secrets scanners."""

    max_file_bytes: int = 64 * MiB
    """Bytes of a text file that are scanned; the rest is reported as not analysed."""
    max_notebook_bytes: int = 64 * MiB
    """Largest notebook parsed as JSON (a larger one is scanned as plain text)."""
    max_findings: int = 1_000
    """Findings per file; more than this is reported as a limit."""
    generic: bool = True
    """Run the entropy check on assigned values (MLW-SEC-030)."""


def scan_text(
    data: bytes,
    location: Location,
    *,
    generic: bool = True,
    tick: Callable[[], None] | None = None,
    max_findings: int = 1_000,
) -> list[SecretFinding]:
    """Secrets in ``data`` (raw bytes of any text), each located by its 1-based line.

    ``location`` is copied into every finding with the line set (and any byte offset
    cleared); give it a ``field`` to place findings in a notebook cell.
    """
    findings: list[SecretFinding] = []
    line, counted_to = 1, 0
    for hit in find_secrets(data, generic=generic, tick=tick, max_hits=max_findings):
        line += data.count(b"\n", counted_to, hit.start)
        counted_to = hit.start
        if is_suppressed(hit.rule.id, data, hit.start, hit.end):
            continue
        findings.append(secret_finding(hit, replace(location, offset=None, line=line)))
    return findings


def _too_many(options: SecretScanOptions) -> LimitExceeded:
    return LimitExceeded(
        "secret findings in one file",
        options.max_findings,
        "rotate what was found, or raise SecretScanOptions.max_findings to list more",
    )


class SourceSecretsScanner:
    """Secrets in any text file: code, shell, ``.env``, configs, Terraform, SQL, docs."""

    name = "source"
    rules: tuple[Rule, ...] = SECRET_RULES

    def __init__(self, options: SecretScanOptions | None = None) -> None:
        self.options = options or SecretScanOptions()

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        limit = self.options.max_file_bytes
        data = bytes(blob.view()[:limit])
        cap = self.options.max_findings
        found = scan_text(
            data,
            blob.location,
            generic=self.options.generic,
            tick=ctx.budget.check_time,
            max_findings=cap + 1,
        )
        yield from found[:cap]
        if len(found) > cap:
            raise _too_many(self.options)
        if blob.size > limit:
            raise LimitExceeded(
                "text bytes scanned for secrets",
                limit,
                "raise SecretScanOptions.max_file_bytes to scan the rest of the file",
            )


class NotebookSecretsScanner:
    """Secrets in Jupyter notebooks: cell sources and text outputs (entropy check
    included), metadata and HTML outputs (token formats only); never image data."""

    name = "notebook"
    rules: tuple[Rule, ...] = SECRET_RULES

    def __init__(self, options: SecretScanOptions | None = None) -> None:
        self.options = options or SecretScanOptions()

    def _as_text(self, blob: Blob, ctx: ScanContext) -> list[SecretFinding]:
        # A notebook that cannot be parsed is still read as text: a loader may be lenient
        # where json is not, and the secrets in it are just as exposed.
        data = bytes(blob.view()[: self.options.max_file_bytes])
        return scan_text(
            data,
            blob.location,
            generic=self.options.generic,
            tick=ctx.budget.check_time,
            max_findings=self.options.max_findings,
        )

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        opts = self.options
        try:
            if blob.size > opts.max_notebook_bytes:
                raise LimitExceeded(
                    "notebook size",
                    opts.max_notebook_bytes,
                    "raise SecretScanOptions.max_notebook_bytes to parse it as a notebook",
                )
            parsed = parse_notebook(bytes(blob.view()), max_bytes=opts.max_notebook_bytes)
        except (MalformedInput, LimitExceeded):
            yield from self._as_text(blob, ctx)
            raise
        remaining = opts.max_findings
        for part in parsed.parts:
            ctx.budget.check_time()
            data = part.text.encode("utf-8", "replace")
            hits = scan_text(
                data,
                replace(blob.location, field=part.field),
                generic=opts.generic and part.generic,
                tick=ctx.budget.check_time,
                max_findings=remaining + 1,
            )
            yield from hits[:remaining]
            if len(hits) > remaining:
                raise _too_many(opts)
            remaining -= len(hits)
        if parsed.problems:
            more = f" (+{len(parsed.problems) - 3} more)" if len(parsed.problems) > 3 else ""
            raise MalformedInput("; ".join(parsed.problems[:3]) + more)
