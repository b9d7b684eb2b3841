"""The scan engine: walks inputs, detects formats, runs scanners, never crashes on input.

One process scans any number of files; per-file work is bounded by :class:`Limits`.
Every failure becomes a finding on that file, so a file that could not be analysed is
never reported as clean.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlwarden import __version__
from mlwarden.errors import UsageError
from mlwarden.findings import FileResult, Finding, Location, Report, Rule, ScanStatus, Severity
from mlwarden.scanners.base import (
    LIMIT_RULE,
    MALFORMED_RULE,
    TEXT_MALFORMED_SEVERITY,
    UNREADABLE_RULE,
    Blob,
    Budget,
    LimitExceeded,
    MalformedInput,
    ScanContext,
    ScanSettings,
)
from mlwarden.scanners.detect import detect, has_zip_directory
from mlwarden.scanners.registry import TEXT_FORMATS, scanner_for, scanners_for
from mlwarden.taxonomy import CWE_IMPROPER_INPUT

INTERNAL_RULE = Rule(
    "MLW-GEN-005",
    "Scanner failed on this file",
    Severity.HIGH,
    "The file is not verified. Please report this with the file's format (not the file).",
    (CWE_IMPROPER_INPUT,),
)
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"})

Progress = Callable[[int, int, str], None]
"""Called after each file with (files done, files total, path)."""


@dataclass(frozen=True)
class Target:
    display: str
    path: Path | None
    """None for standard input."""


def _dispatch(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    if blob.depth > ctx.limits.max_archive_depth:
        ctx.incomplete.append(f"{blob.location}: nesting limit")
        yield LIMIT_RULE.finding(
            blob.location,
            f"archives nested deeper than {ctx.limits.max_archive_depth} levels were not opened",
        )
        return
    fmt = detect(blob)
    ctx.formats_seen.append(fmt)
    for scanner in scanners_for(fmt):
        try:
            yield from scanner.scan(blob, ctx)
        except LimitExceeded as exc:
            ctx.incomplete.append(f"{blob.location}: {exc.what}")
            yield LIMIT_RULE.finding(
                blob.location, f"{exc.what} exceeded (limit {exc.limit}); {exc.fix}"
            )
        except MalformedInput as exc:
            ctx.incomplete.append(f"{blob.location}: malformed {fmt}")
            severity = TEXT_MALFORMED_SEVERITY if fmt in TEXT_FORMATS else None
            yield MALFORMED_RULE.finding(blob.location, f"{fmt}: {exc}", severity=severity)
        except (RecursionError, MemoryError, Exception) as exc:  # a scanner bug is a finding
            ctx.incomplete.append(f"{blob.location}: scanner error")
            yield INTERNAL_RULE.finding(
                blob.location, f"{scanner.name} scanner: {type(exc).__name__}: {exc}"
            )
    yield from _polyglot(blob, ctx, fmt)


def _polyglot(blob: Blob, ctx: ScanContext, fmt: str) -> Iterator[Finding]:
    """Read a file also as the other formats it could be loaded as.

    One file can be a valid safetensors header and a pickle, or a pickle followed by a zip;
    a loader picks whichever it expects. Only evidence of code is reported from these
    second readings, so ordinary files whose bytes merely resemble another format stay quiet.
    """
    data = blob.view()
    if fmt != "pickle" and len(data) > 2 and data[0] == 0x80 and data[1] <= 5:
        from mlwarden.scanners.model.pickle_scanner import IMPORT_RULES, analyse_pickles

        found = analyse_pickles(blob, ctx, strict=False)
        yield from (f for f in found if f.rule_id in IMPORT_RULES)
    if fmt == "pickle" and blob.depth == 0 and has_zip_directory(data):
        inner = ScanContext(ctx.budget, ctx.settings, ctx.scan_member)
        try:
            found = list(scanner_for("zip").scan(blob, inner))
        except (LimitExceeded, MalformedInput):
            return
        ctx.formats_seen.append("zip")
        yield from found


def scan_blob(blob: Blob, settings: ScanSettings) -> tuple[list[Finding], ScanStatus, str]:
    """Scan one in-memory blob; returns findings, status and the detected format."""
    budget = Budget(settings.limits, time.monotonic() + settings.limits.max_seconds)
    ctx = ScanContext(budget=budget, settings=settings, scan_member=lambda b: _dispatch(b, ctx))
    findings = list(_dispatch(blob, ctx))
    status = ScanStatus.PARTIAL if ctx.incomplete else ScanStatus.SCANNED
    if any(f.rule_id == INTERNAL_RULE.id for f in findings):
        status = ScanStatus.ERROR
    return findings, status, _format_label(ctx.formats_seen)


def _format_label(seen: list[str]) -> str:
    if not seen:
        return "unknown"
    inner = sorted({f for f in seen[1:] if f not in ("unknown", seen[0])})
    return "+".join([seen[0], *inner])


def _digest(data: bytes | mmap.mmap) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def scan_file(target: Target, settings: ScanSettings, *, digest: bool = False) -> FileResult:
    """Scan one file (or standard input) into a :class:`FileResult`."""
    started = time.perf_counter()
    location = Location(target.display)
    try:
        if target.path is None:
            data: bytes | mmap.mmap = _read_stdin(settings.limits.max_stdin_bytes)
            name = "stdin"
        else:
            data = _map(target.path)
            name = target.path.name
    except (OSError, UsageError) as exc:
        finding = UNREADABLE_RULE.finding(location, str(exc))
        return FileResult(target.display, "unreadable", ScanStatus.ERROR, 0, None, (finding,), 0.0)
    try:
        findings, status, fmt = scan_blob(Blob(data, location, name), settings)
        sha = _digest(data) if digest else None
        size = len(data)
    finally:
        if isinstance(data, mmap.mmap):
            # A view may still be alive somewhere; the GC closes the map then.
            with contextlib.suppress(BufferError):
                data.close()
    return FileResult(
        target.display, fmt, status, size, sha, tuple(findings), time.perf_counter() - started
    )


def _map(path: Path) -> bytes | mmap.mmap:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _read_stdin(limit: int) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise UsageError("-", f"standard input is larger than {limit} bytes", "scan a file instead")
    return data


def collect_targets(paths: Sequence[str]) -> list[Target]:
    """Expand files, folders (recursively, sorted) and ``-``; raise UsageError for bad paths."""
    targets: list[Target] = []
    for raw in paths:
        if raw == "-":
            targets.append(Target("-", None))
            continue
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                for name in sorted(files):
                    full = Path(root) / name
                    if full.is_file():
                        targets.append(Target(str(full), full))
        elif path.is_file():
            targets.append(Target(raw, path))
        elif path.exists():
            raise UsageError(raw, "is not a regular file or folder", "pass a file or a folder")
        else:
            raise UsageError(raw, "no such file or folder", "check the path")
    return targets


def scan_paths(
    paths: Sequence[str],
    settings: ScanSettings | None = None,
    *,
    fail_on: Severity = Severity.HIGH,
    digest: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Scan files, folders and ``-`` (stdin) in this process and return one report."""
    settings = settings or ScanSettings()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    t0 = time.perf_counter()
    targets = collect_targets(paths)
    results: list[FileResult] = []
    for i, target in enumerate(targets, 1):
        results.append(scan_file(target, settings, digest=digest))
        if progress is not None:
            progress(i, len(targets), target.display)
    errors = tuple(r.path for r in results if r.status is ScanStatus.ERROR)
    return Report(
        files=tuple(results),
        started_at=started_at,
        duration_s=time.perf_counter() - t0,
        tool_version=__version__,
        fail_on=fail_on,
        errors=errors,
    )
