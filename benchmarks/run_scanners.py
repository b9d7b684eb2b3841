#!/usr/bin/env python3
"""Benchmark mlwarden against anchor scanners on the generated test corpus.

    .venv/bin/python benchmarks/run_scanners.py [--large-mb 1024] [--out benchmarks/out]

Steps:

1. Build the corpus (``tests/corpus``: malicious + benign samples, and one large benign
   PyTorch checkpoint) into a temporary folder.
2. For every tool (mlwarden and the anchors installed by ``benchmarks/anchors.sh``):

   * per file: one subprocess per corpus file (timeout ``--timeout``), giving a per-file
     verdict: flagged / clean / unsupported / error / timeout / crash;
   * corpus folder: one invocation on the folder holding all corpus files (wall time);
   * large file: one invocation on the large checkpoint (wall time, MB/s, peak RSS).

3. Print a summary table and a per-technique table, and write them plus per-file details
   (CSV and JSON) to ``--out``.

Counting rules, the same for every tool:

* *detected*: a malicious file whose verdict is "flagged" (the tool's own unsafe verdict).
* *false positive*: a benign file whose verdict is "flagged".
* *crashes*: verdicts "error" (the tool's exit code for an error, or an error it reports for
  the file), "timeout", and "crash" (an exit code the tool does not document, or output that
  cannot be parsed). An error is never a detection, even when the tool also printed issues
  before giving up (those are kept in the per-file details).
* *unsupported*: the tool said it scanned nothing (not a crash, and not a detection).

A Python traceback in a tool's output is recorded per file (``traceback`` column); it turns
the verdict into a crash only when the exit code is not one of the tool's verdicts.

Each malicious sample's payload only touches a marker file. The marker is checked after every
tool; if it appears, that tool executed a payload, and the report says so.

Peak RSS comes from ``/usr/bin/time -v`` (GNU time) when present, else from
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a fresh Python process that runs the
tool. Before each large-file run the checkpoint is read once so every tool starts with the
same (warm) page cache. No timing is asserted anywhere: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
VENVS = BENCH / ".venvs"
TIME_BIN = "/usr/bin/time"

Status = Literal["flagged", "clean", "unsupported", "error", "timeout", "crash"]
CRASH_STATUSES: frozenset[str] = frozenset({"error", "timeout", "crash"})
HIGH_SEVERITIES = frozenset({"high", "critical"})

# Run by a fresh interpreter when GNU time is missing: RUSAGE_CHILDREN of a process whose
# only child is the tool is the tool's own peak RSS (ru_maxrss is in KiB on Linux).
_RUSAGE_WRAPPER = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump({"returncode": proc.returncode, "maxrss_kb": usage.ru_maxrss}, f)
sys.exit(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)
"""


class SampleLike(Protocol):
    """The fields of ``tests/corpus/sample.py:Sample`` that the benchmark reads."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def kind(self) -> str: ...
    @property
    def technique(self) -> str: ...


# --------------------------------------------------------------------------------------
# Running one process
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    """One finished (or killed) tool process."""

    cmd: list[str]
    returncode: int | None  # None when killed on timeout; negative: killed by that signal
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mb: float | None
    timed_out: bool

    @property
    def traceback(self) -> bool:
        marker = "Traceback (most recent call last)"
        return marker in self.stderr or marker in self.stdout

    def tail(self, n: int = 300) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).replace("\n", " | ")
        return text[-n:]


def _parse_time_stats(stats: Path, returncode: int) -> tuple[int, float | None]:
    """Exit code and peak RSS (MB) from GNU ``time -v -o`` or the rusage wrapper's file."""
    try:
        text = stats.read_text()
    except OSError:
        return returncode, None
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        return int(data["returncode"]), int(data["maxrss_kb"]) / 1024
    peak: float | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Command terminated by signal"):
            returncode = -int(line.rsplit(" ", 1)[1])
        elif line.startswith("Maximum resident set size (kbytes):"):
            peak = int(line.rsplit(":", 1)[1]) / 1024
    return returncode, peak


def run_measured(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, scratch: Path
) -> Run:
    """Run ``cmd`` as a fresh process (own session), measuring wall time and peak RSS."""
    fd, stats_name = tempfile.mkstemp(prefix="rusage-", suffix=".txt", dir=scratch)
    os.close(fd)
    stats = Path(stats_name)
    if Path(TIME_BIN).exists():
        full = [TIME_BIN, "-v", "-o", str(stats), *cmd]
    else:
        full = [sys.executable, "-c", _RUSAGE_WRAPPER, str(stats), *cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(
        full,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)  # the session this call started, nothing else
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    returncode, peak = _parse_time_stats(stats, proc.returncode)
    stats.unlink(missing_ok=True)
    return Run(
        cmd=list(cmd),
        returncode=None if timed_out else returncode,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        wall_s=wall,
        peak_rss_mb=None if timed_out else peak,
        timed_out=timed_out,
    )


# --------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------


@dataclass
class Verdict:
    status: Status
    detail: str = ""
    severities: tuple[str, ...] = ()  # the tool's own severity names for what it reported


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _json_from_stdout(stdout: str) -> Any:
    """The JSON document a tool printed (tolerates log lines before it)."""
    text = stdout.strip()
    for start in [0, *(i for i, ch in enumerate(text) if ch == "{" and i > 0)]:
        if text[start : start + 1] != "{":
            continue
        try:
            return json.loads(text[start:])
        except ValueError:
            continue
    return None


class Tool(ABC):
    """A scanner run as a subprocess. Subclasses give the command line and verdict parsing."""

    name: str
    dist: str  # distribution name, for the version

    def __init__(self) -> None:
        self._version: str | None = None

    @property
    @abstractmethod
    def python(self) -> Path:
        """The interpreter of the venv the tool lives in."""

    @abstractmethod
    def installed(self) -> bool: ...

    @abstractmethod
    def command(self, target: Path, report: Path) -> list[str]:
        """Command line scanning ``target`` (a file or a folder); ``report``: a free path."""

    @abstractmethod
    def verdict(self, run: Run, report: Path) -> Verdict: ...

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["NO_COLOR"] = "1"
        return env

    def version(self) -> str:
        if self._version is None:
            code = f"import importlib.metadata as m; print(m.version({self.dist!r}))"
            try:
                out = subprocess.run(
                    [str(self.python), "-c", code],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=True,
                )
                self._version = out.stdout.strip() or "unknown"
            except (OSError, subprocess.SubprocessError):
                self._version = "unknown"
        return self._version

    def classify(self, run: Run, report: Path) -> Verdict:
        if run.timed_out:
            return Verdict("timeout", f"killed after {run.wall_s:.0f} s")
        try:
            return self.verdict(run, report)
        except Exception as e:  # a parser bug must not abort the benchmark
            return Verdict("crash", f"verdict parsing failed: {type(e).__name__}: {e}")


class AnchorTool(Tool):
    """A tool installed by anchors.sh into ``benchmarks/.venvs/<venv_name>``."""

    venv_name: str
    exe_name: str

    @property
    def venv(self) -> Path:
        return VENVS / self.venv_name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def exe(self) -> Path:
        return self.venv / "bin" / self.exe_name

    def installed(self) -> bool:
        return (self.venv / ".anchor-installed").is_file() and self.exe.exists()


class Mlwarden(Tool):
    """``mlwarden scan PATH --format json --fail-on high``.

    Exit 0: nothing at or above high; 1: a finding at or above high; 2: usage/input error.
    The JSON report on stdout is parsed too: a file is flagged when it has a finding of
    severity high or critical; a file whose ``status`` is ``"error"`` and that has no such
    finding is an error.
    """

    name = "mlwarden"
    dist = "mlwarden"

    def __init__(self, exe: Path | None = None) -> None:
        super().__init__()
        self.exe = exe or REPO / ".venv" / "bin" / "mlwarden"

    @property
    def python(self) -> Path:
        return self.exe.parent / "python"

    def installed(self) -> bool:
        """The console script exists and starts (it can exist before its CLI module does)."""
        if not self.exe.exists():
            return False
        try:
            probe = subprocess.run([str(self.exe), "--help"], capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return probe.returncode == 0

    def version(self) -> str:
        version = super().version()
        if version == "unknown":
            try:
                out = subprocess.run(
                    [str(self.exe), "--version"], capture_output=True, text=True, timeout=60
                )
                words = out.stdout.split()
                version = words[-1] if out.returncode == 0 and words else "unknown"
            except (OSError, subprocess.SubprocessError):
                pass
            self._version = version
        return version

    def command(self, target: Path, report: Path) -> list[str]:
        return [str(self.exe), "scan", str(target), "--format", "json", "--fail-on", "high"]

    def verdict(self, run: Run, report: Path) -> Verdict:
        if run.returncode == 2:
            return Verdict("error", f"exit 2: {run.tail()}")
        if run.returncode not in (0, 1):
            return Verdict("crash", f"exit {run.returncode}: {run.tail()}")
        doc = _json_from_stdout(run.stdout)
        if not isinstance(doc, dict):
            return Verdict("crash", f"exit {run.returncode}, no JSON report: {run.tail()}")
        findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
        for entry in doc.get("files") or []:  # per-file findings, when given as a list
            nested = entry.get("findings")
            if isinstance(nested, list):
                findings.extend(f for f in nested if isinstance(f, dict))
        high = sorted(
            {str(f.get("rule_id")) for f in findings if f.get("severity") in HIGH_SEVERITIES}
        )
        statuses = {str(entry.get("status")) for entry in doc.get("files") or []}
        if high or run.returncode == 1:
            note = "" if high and run.returncode == 1 else " (exit code and report disagree)"
            return Verdict("flagged", ",".join(high) + note)
        if "error" in statuses:
            return Verdict("error", f"file status error: {run.stderr.strip()[-300:]}")
        low = sorted({str(f.get("rule_id")) for f in findings})
        return Verdict("clean", ("below high: " + ",".join(low)) if low else "")


class Modelscan(AnchorTool):
    """``modelscan -p PATH -r json -o REPORT`` (run from an empty folder so that no
    ``modelscan-settings.toml`` is picked up; defaults are used).

    Exit codes (modelscan/cli.py): 0 no issue, 1 issues found, 2 scan errors (checked
    before issues, so errors win), 3 no supported file scanned (also when the only file
    failed to parse: then the report's ``errors`` is non-empty and we count an error),
    4 usage error. Any issue, whatever its severity, is modelscan's unsafe verdict.
    """

    name = "modelscan"
    dist = "modelscan"
    venv_name = "modelscan"
    exe_name = "modelscan"

    def command(self, target: Path, report: Path) -> list[str]:
        return [str(self.exe), "-p", str(target), "-r", "json", "-o", str(report)]

    def verdict(self, run: Run, report: Path) -> Verdict:
        doc = _load_json(report)
        issues = doc.get("issues", []) if isinstance(doc, dict) else []
        errors = doc.get("errors", []) if isinstance(doc, dict) else []
        sev = sorted({str(i.get("severity")) for i in issues})
        err = "; ".join(str(e.get("description", e))[:120] for e in errors[:2])
        rc = run.returncode
        if rc == 0:
            return Verdict("clean")
        if rc == 1:
            return Verdict("flagged", f"{len(issues)} issue(s) {','.join(sev)}")
        if rc == 2:
            extra = f" ({len(issues)} issue(s) also reported)" if issues else ""
            return Verdict("error", (err or run.tail()) + extra)
        if rc == 3:
            return Verdict("error", err) if errors else Verdict("unsupported", "no supported file")
        return Verdict("crash", f"exit {rc}: {run.tail()}")


class Picklescan(AnchorTool):
    """``picklescan -p PATH``.

    Exit codes (picklescan/cli.py): 0 no dangerous global, 1 dangerous globals found
    ("infected"), 2 scan error or unhandled exception (checked before the infected count,
    so a parse error wins even when dangerous globals were already seen).
    """

    name = "picklescan"
    dist = "picklescan"
    venv_name = "picklescan"
    exe_name = "picklescan"

    def command(self, target: Path, report: Path) -> list[str]:
        return [str(self.exe), "-p", str(target)]

    @staticmethod
    def _summary(stdout: str, key: str) -> str:
        for line in stdout.splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
        return "?"

    def verdict(self, run: Run, report: Path) -> Verdict:
        rc = run.returncode
        dangerous = self._summary(run.stdout, "Dangerous globals")
        if rc == 0:
            return Verdict("clean")
        if rc == 1:
            return Verdict("flagged", f"dangerous globals: {dangerous}")
        if rc == 2:
            errors = [ln for ln in (run.stdout + run.stderr).splitlines() if "ERROR" in ln]
            extra = f" (infected files: {self._summary(run.stdout, 'Infected files')})"
            return Verdict("error", (errors[0][:200] if errors else run.tail()) + extra)
        return Verdict("crash", f"exit {rc}: {run.tail()}")


class Fickling(AnchorTool):
    """``python benchmarks/fickling_scan.py --mode MODE PATH`` in the fickling venv.

    fickling's CLI (``fickling --check-safety FILE``) only reads raw pickles; the adapter
    applies fickling's own per-file dispatch for model repos (see fickling_scan.py).
    Exit codes: 0 clean, 1 unsafe, 2 error (a pickle fickling could not parse), 3 nothing
    supported (not a ZIP, not a pickle).
    """

    dist = "fickling"
    venv_name = "fickling"
    exe_name = "python"

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.name = "fickling" if mode == "check-safety" else "fickling-ml"

    def command(self, target: Path, report: Path) -> list[str]:
        adapter = BENCH / "fickling_scan.py"
        return [str(self.exe), str(adapter), "--mode", self.mode, str(target)]

    def verdict(self, run: Run, report: Path) -> Verdict:
        doc = _json_from_stdout(run.stdout)
        files = doc.get("files", []) if isinstance(doc, dict) else []
        members = [m for f in files for m in f.get("members", [])]
        rc = run.returncode
        if rc == 0:
            return Verdict("clean")
        if rc == 1:
            sev = sorted({str(m.get("severity")) for m in members if m.get("severity")})
            return Verdict("flagged", ",".join(sev))
        if rc == 2:
            errs = [str(m["error"])[:160] for m in members if m.get("error")]
            return Verdict("error", "; ".join(errs[:2]) or run.tail())
        if rc == 3:
            return Verdict("unsupported", "not a ZIP or pickle")
        return Verdict("crash", f"exit {rc}: {run.tail()}")


class Modelaudit(AnchorTool):
    """``modelaudit scan --format json --no-cache -o REPORT PATH``, telemetry off
    (``PROMPTFOO_DISABLE_TELEMETRY=1``, ``NO_ANALYTICS=1``); ``--no-cache`` so that repeated
    runs are not served from its result cache.

    Exit codes (modelaudit/core_results.py ``determine_exit_code``): 0 clean, 1 security
    findings (WARNING or CRITICAL issues, or failed security checks), 2 operational error,
    inconclusive scan, or nothing scanned. Exit 2 with ``files_scanned == 0`` and no error
    counts as unsupported, other exit 2 as an error.
    """

    name = "modelaudit"
    dist = "modelaudit"
    venv_name = "modelaudit"
    exe_name = "modelaudit"

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PROMPTFOO_DISABLE_TELEMETRY"] = "1"
        env["NO_ANALYTICS"] = "1"
        return env

    def command(self, target: Path, report: Path) -> list[str]:
        return [
            str(self.exe),
            "scan",
            "--format",
            "json",
            "--no-cache",
            "-o",
            str(report),
            str(target),
        ]

    def verdict(self, run: Run, report: Path) -> Verdict:
        doc = _load_json(report)
        doc = doc if isinstance(doc, dict) else {}
        issues = [i for i in doc.get("issues") or [] if isinstance(i, dict)]
        security = [i for i in issues if i.get("severity") in ("warning", "critical")]
        codes = sorted({f"{i.get('rule_code')}:{i.get('severity')}" for i in security})
        sevs = tuple(sorted({str(i.get("severity")) for i in security}))
        rc = run.returncode
        if rc == 0:
            return Verdict("clean")
        if rc == 1:
            return Verdict("flagged", ",".join(codes[:6]), sevs)
        if rc == 2:
            if doc.get("files_scanned") == 0 and not doc.get("has_errors"):
                return Verdict("unsupported", "no file scanned")
            # Operational errors first, then the info-level notes that made it inconclusive.
            issues.sort(key=lambda i: i.get("severity") == "info")
            msgs = [f"{i.get('rule_code')}: {str(i.get('message'))[:120]}" for i in issues]
            kind = "operational error" if doc.get("has_errors") else "inconclusive"
            extra = f" ({len(security)} security issue(s) also reported)" if security else ""
            return Verdict("error", f"{kind}: " + ("; ".join(msgs[:2]) or run.tail()) + extra)
        return Verdict("crash", f"exit {rc}: {run.tail()}")


def critical_only(result: ToolResult, name: str) -> ToolResult:
    """The same runs, counting a file as flagged only when a CRITICAL issue was reported.

    modelaudit's exit code 1 also covers WARNING issues; mlwarden is counted at high and
    above, so modelaudit's CRITICAL-only reading is the like-for-like comparison. No extra
    process is run: per-file verdicts are re-read, and the timings are the same runs'.
    """

    def demote(status: str, severities: str) -> str:
        critical = "critical" in severities.split(",")
        return "clean" if status == "flagged" and not critical else status

    files = [replace(f, tool=name, status=demote(f.status, f.severities)) for f in result.files]
    large = result.large
    if large is not None:
        large = replace(large, status=demote(large.status, large.severities))
    return replace(result, tool=name, files=files, large=large, payload_executed=[])


def all_tools(mlwarden_exe: Path | None) -> list[Tool]:
    return [
        Mlwarden(mlwarden_exe),
        Modelscan(),
        Picklescan(),
        Fickling("check-safety"),
        Fickling("ml-allowlist"),
        Modelaudit(),
    ]


# --------------------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------------------


@dataclass
class FileResult:
    tool: str
    sample: str
    kind: str
    technique: str
    status: str
    exit_code: int | None
    wall_s: float
    traceback: bool
    detail: str
    severities: str = ""


@dataclass
class WholeRun:
    status: str
    exit_code: int | None
    wall_s: float
    peak_rss_mb: float | None
    detail: str = ""
    severities: str = ""


@dataclass
class ToolResult:
    tool: str
    version: str
    installed: bool
    command: str = ""
    files: list[FileResult] = field(default_factory=list)
    folder: WholeRun | None = None
    large: WholeRun | None = None
    large_mb_s: float | None = None
    payload_executed: list[str] = field(default_factory=list)

    def _count(self, kind: str, statuses: Iterable[str]) -> tuple[int, int]:
        wanted = set(statuses)
        rows = [f for f in self.files if f.kind == kind]
        return sum(f.status in wanted for f in rows), len(rows)

    def detected(self) -> tuple[int, int]:
        return self._count("malicious", {"flagged"})

    def false_positives(self) -> tuple[int, int]:
        return self._count("benign", {"flagged"})

    def crashes(self) -> int:
        return sum(f.status in CRASH_STATUSES for f in self.files)

    def unsupported(self) -> int:
        return sum(f.status == "unsupported" for f in self.files)


class Marker:
    """The file every malicious payload touches when executed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def check_and_reset(self) -> bool:
        if self.path.exists():
            self.path.unlink()
            return True
        return False


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(16 * 1024 * 1024):
            pass


def bench_tool(
    tool: Tool,
    samples: Sequence[SampleLike],
    corpus_dir: Path,
    large: Path,
    marker: Marker,
    scratch: Path,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> ToolResult:
    if not tool.installed():
        log(f"[{tool.name}] not installed, skipped")
        return ToolResult(tool.name, "not installed", installed=False)
    version = tool.version()
    result = ToolResult(tool.name, version, installed=True)
    result.command = " ".join(tool.command(Path("<PATH>"), Path("<REPORT>")))
    work = scratch / tool.name
    work.mkdir(parents=True, exist_ok=True)
    env = tool.env()
    marker.check_and_reset()

    def one(index: int, sample: SampleLike) -> FileResult:
        report = work / f"report-{index}.json"
        run = run_measured(
            tool.command(sample.path, report),
            cwd=work,
            env=env,
            timeout=args.timeout,
            scratch=work,
        )
        verdict = tool.classify(run, report)
        report.unlink(missing_ok=True)
        return FileResult(
            tool=tool.name,
            sample=sample.name,
            kind=sample.kind,
            technique=sample.technique,
            status=verdict.status,
            exit_code=run.returncode,
            wall_s=round(run.wall_s, 3),
            traceback=run.traceback,
            detail=verdict.detail,
            severities=",".join(verdict.severities),
        )

    log(f"[{tool.name} {version}] per-file: {len(samples)} files, {args.jobs} at a time")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        result.files = list(pool.map(one, range(len(samples)), samples))
    log(f"[{tool.name}] per-file done in {time.perf_counter() - t0:.1f} s")
    if marker.check_and_reset():
        result.payload_executed.append("per-file")

    def whole(target: Path, timeout: float, label: str) -> WholeRun:
        report = work / f"report-{label}.json"
        run = run_measured(
            tool.command(target, report), cwd=work, env=env, timeout=timeout, scratch=work
        )
        verdict = tool.classify(run, report)
        report.unlink(missing_ok=True)
        if marker.check_and_reset():
            result.payload_executed.append(label)
        return WholeRun(
            status=verdict.status,
            exit_code=run.returncode,
            wall_s=round(run.wall_s, 3),
            peak_rss_mb=None if run.peak_rss_mb is None else round(run.peak_rss_mb, 1),
            detail=verdict.detail[:300],
            severities=",".join(verdict.severities),
        )

    result.folder = whole(corpus_dir, args.folder_timeout, "folder")
    log(f"[{tool.name}] corpus folder: {result.folder.wall_s:.2f} s ({result.folder.status})")
    warm_page_cache(large)
    result.large = whole(large, args.large_timeout, "large")
    if result.large.status != "timeout" and result.large.wall_s > 0:
        result.large_mb_s = round(large.stat().st_size / 2**20 / result.large.wall_s, 1)
    log(
        f"[{tool.name}] large file: {result.large.wall_s:.2f} s, "
        f"peak {result.large.peak_rss_mb} MB ({result.large.status})"
    )
    return result


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------


def _ratio(hit: int, total: int) -> str:
    return f"{hit}/{total} ({100 * hit / total:.1f}%)" if total else "n/a"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


def _whole_cell(run: WholeRun | None, expected: str) -> str:
    """Wall time, plus the verdict when it is not the expected one."""
    if run is None:
        return "—"
    if run.status == "timeout":
        return f"timeout ({run.wall_s:.0f})"
    cell = f"{run.wall_s:.2f}"
    return cell if run.status == expected else f"{cell} ({run.status})"


def summary_table(results: Sequence[ToolResult]) -> str:
    head = (
        "| Tool | Version | Detected (malicious) | False positives (benign) | Crashes "
        "| Unsupported | Corpus folder wall (s) | Large file wall (s) | Large file MB/s "
        "| Large file peak RSS (MB) |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in results:
        if not r.installed:
            status = "pending" if r.tool == "mlwarden" else "not installed"
            lines.append(f"| {r.tool} | {status} |" + " — |" * 8)
            continue
        peak = r.large.peak_rss_mb if r.large else None
        cells = [
            r.tool,
            r.version,
            _ratio(*r.detected()),
            _ratio(*r.false_positives()),
            str(r.crashes()),
            str(r.unsupported()),
            _whole_cell(r.folder, "flagged"),
            _whole_cell(r.large, "clean"),
            _num(r.large_mb_s, "{:.1f}"),
            _num(peak, "{:.0f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_of(technique: str) -> str:
    """``"reduce:os.system"`` -> ``"reduce"``: the corpus names techniques family:detail."""
    return technique.split(":", 1)[0]


def breakdown_table(
    results: Sequence[ToolResult],
    kind: str,
    key: Callable[[str], str],
    label: str,
    only_disagreements: bool = False,
) -> str:
    """Files flagged per tool, grouped by ``key(technique)`` over samples of ``kind``.

    For malicious samples the last column lists the tools that missed at least one file of
    the group (a crash or error is a miss); for benign ones, the tools that flagged one.
    """
    ran = [r for r in results if r.installed]
    if not ran:
        return "(no tool ran)"
    groups: dict[str, int] = {}
    for f in ran[0].files:
        if f.kind == kind:
            groups[key(f.technique)] = groups.get(key(f.technique), 0) + 1
    last = "Missed by" if kind == "malicious" else "Flagged by"
    head = f"| {label} | Samples | " + " | ".join(r.tool for r in ran) + f" | {last} |"
    lines = [head, "|" + "---|" * (len(ran) + 3)]
    for group in sorted(groups):
        cells: list[str] = []
        named: list[str] = []
        for r in ran:
            rows = [f for f in r.files if f.kind == kind and key(f.technique) == group]
            hit = sum(f.status == "flagged" for f in rows)
            crashed = sum(f.status in CRASH_STATUSES for f in rows)
            cells.append(f"{hit}/{len(rows)}" + (f" ({crashed} crash)" if crashed else ""))
            if (kind == "malicious" and hit < len(rows)) or (kind != "malicious" and hit):
                named.append(r.tool)
        if only_disagreements and not named:
            continue
        row = " | ".join([group, str(groups[group]), *cells, ", ".join(named) or "—"])
        lines.append(f"| {row} |")
    return "\n".join(lines)


def summary_row(r: ToolResult) -> dict[str, Any]:
    """The summary table's numbers for one row, for results.json."""
    detected, malicious = r.detected()
    false_positives, benign = r.false_positives()
    return {
        "tool": r.tool,
        "version": r.version,
        "installed": r.installed,
        "detected": detected,
        "malicious": malicious,
        "false_positives": false_positives,
        "benign": benign,
        "crashes": r.crashes(),
        "unsupported": r.unsupported(),
        "folder_wall_s": r.folder.wall_s if r.folder else None,
        "large_wall_s": r.large.wall_s if r.large else None,
        "large_status": r.large.status if r.large else None,
        "large_mb_s": r.large_mb_s,
        "large_peak_rss_mb": r.large.peak_rss_mb if r.large else None,
    }


def write_outputs(
    out: Path,
    results: Sequence[ToolResult],
    derived: Sequence[ToolResult],
    meta: dict[str, Any],
    tables: str,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(tables + "\n")
    with (out / "per_file.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([name for name in FileResult.__dataclass_fields__])
        for r in results:
            for row in r.files:
                writer.writerow(list(asdict(row).values()))
    doc = {
        "meta": meta,
        "summary": [summary_row(r) for r in [*results, *derived]],
        "tools": [asdict(r) for r in results],
    }
    (out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def load_corpus(corpus_root: Path) -> Any:
    sys.path.insert(0, str(corpus_root))
    import corpus  # type: ignore[import-not-found]  # tests/corpus, built by a colleague

    return corpus


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--large-mb", type=int, default=1024, help="large checkpoint size (MB)")
    p.add_argument("--out", type=Path, default=BENCH / "out", help="output folder")
    p.add_argument("--timeout", type=float, default=60, help="per-file timeout (s)")
    p.add_argument("--folder-timeout", type=float, default=300, help="corpus folder timeout (s)")
    p.add_argument("--large-timeout", type=float, default=300, help="large file timeout (s)")
    p.add_argument("--jobs", type=int, default=2, help="per-file runs in parallel")
    p.add_argument("--tools", default="", help="comma-separated subset of tool names")
    p.add_argument("--mlwarden", type=Path, default=None, help="mlwarden executable")
    p.add_argument(
        "--corpus-root",
        type=Path,
        default=REPO / "tests",
        help="folder holding the 'corpus' package (default: tests/)",
    )
    p.add_argument("--workdir", type=Path, default=None, help="where to build the corpus")
    p.add_argument("--keep", action="store_true", help="keep the built corpus")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {msg}", file=sys.stderr, flush=True)

    tools = all_tools(args.mlwarden)
    if args.tools:
        wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
        unknown = wanted - {t.name for t in tools}
        if unknown:
            print(f"unknown tool(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        tools = [t for t in tools if t.name in wanted]

    corpus = load_corpus(args.corpus_root)
    tmp = Path(tempfile.mkdtemp(prefix="mlwarden-bench-", dir=args.workdir))
    try:
        corpus_dir = tmp / "corpus"
        marker = Marker(tmp / "payload-marker")
        log(f"building corpus in {corpus_dir}")
        malicious = list(corpus.build_malicious(corpus_dir / "malicious", marker.path))
        benign = list(corpus.build_benign(corpus_dir / "benign"))
        samples: list[SampleLike] = [*malicious, *benign]
        bad = [s.name for s in malicious if s.kind != "malicious"]
        bad += [s.name for s in benign if s.kind != "benign"]
        if bad:
            print(f"corpus returned samples of the wrong kind: {bad}", file=sys.stderr)
            return 2
        log(f"corpus: {len(malicious)} malicious, {len(benign)} benign")
        log(f"building {args.large_mb} MB checkpoint")
        (tmp / "large").mkdir()
        large = Path(corpus.build_large_checkpoint(tmp / "large" / "large.pt", args.large_mb))
        large_mb = large.stat().st_size / 2**20
        log(f"large checkpoint: {large_mb:.0f} MB")
        scratch = tmp / "scratch"
        scratch.mkdir()

        results = [
            bench_tool(tool, samples, corpus_dir, large, marker, scratch, args, log)
            for tool in tools
        ]
        derived = [
            critical_only(r, "modelaudit (CRITICAL only)")
            for r in results
            if r.tool == "modelaudit" and r.installed
        ]
    finally:
        if args.keep:
            log(f"corpus kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "malicious_files": len(malicious),
        "benign_files": len(benign),
        "large_file_mb": round(large_mb, 1),
        "per_file_timeout_s": args.timeout,
        "peak_rss_source": TIME_BIN if Path(TIME_BIN).exists() else "getrusage(RUSAGE_CHILDREN)",
        "commands": {r.tool: r.command for r in results if r.installed},
        "total_wall_s": round(time.perf_counter() - started, 1),
    }
    payload_notes = [
        f"- **{r.tool} executed a sample's payload** ({', '.join(r.payload_executed)})"
        for r in results
        if r.payload_executed
    ]
    header = (
        f"Corpus: {len(malicious)} malicious + {len(benign)} benign files; large file "
        f"{large_mb:.0f} MB; {meta['machine']}; {meta['date']}."
    )
    printed = [
        header,
        "",
        summary_table([*results, *derived]),
        *(
            [
                "",
                "modelaudit (CRITICAL only): the same modelaudit runs, counting a file as "
                "flagged only for a CRITICAL issue (its exit code 1 also covers WARNING "
                "issues; mlwarden is counted at high and critical).",
            ]
            if derived
            else []
        ),
        "",
        "Malicious technique families: files flagged per tool (a crash or error is a miss).",
        "",
        breakdown_table(results, "malicious", family_of, "Family"),
        *(["", *payload_notes] if payload_notes else []),
    ]
    extra = [
        "",
        "Benign families: files flagged per tool (false positives).",
        "",
        breakdown_table(results, "benign", family_of, "Family"),
        "",
        "Malicious techniques missed by at least one tool.",
        "",
        breakdown_table(results, "malicious", str, "Technique", only_disagreements=True),
    ]
    tables = "\n".join(printed)
    print(tables)
    write_outputs(args.out, results, derived, meta, "\n".join([*printed, *extra]))
    log(f"wrote {args.out}/results.md, per_file.csv, results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
