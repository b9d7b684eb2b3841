"""Scan model files with fickling's library API, the way fickling itself scans model repos.

Runs inside the fickling anchor venv (``benchmarks/.venvs/fickling/bin/python``), never in
mlwarden's venv::

    fickling_scan.py --mode check-safety|ml-allowlist PATH

Why an adapter: ``fickling --check-safety FILE`` only parses a *raw* pickle stream, so on a
PyTorch ZIP checkpoint (the most common ML model file) it stops with a parse error. For model
files, fickling's own ``--huggingface`` mode (``fickling.cli._scan_huggingface``) dispatches
per file: ZIP archives have every ``.pkl`` / ``.pickle`` / ``.bin`` member checked (as
``fickling.scan_zip_archive`` does), raw pickles are checked whole (``fickling.scan_file``),
and anything else (7z, tar, NumPy, safetensors, ...) is skipped as not supported. This script
applies that dispatch to local paths, with one difference: a file counts as a ZIP by its
content (ZIP magic), not because it is named ``.pt``/``.pth``.

Two analyses, both fickling's own:

* ``check-safety``: the default analyzer, exactly what ``fickling --check-safety`` and
  ``fickling.is_likely_safe`` run. A pickle is unsafe when its severity is above
  ``LIKELY_SAFE``. It reports every non-stdlib import, so it flags ordinary
  ``torch.save`` checkpoints (``torch._utils._rebuild_tensor_v2``) too.
* ``ml-allowlist``: fickling's ML allowlist (``fickling.ml.MLAllowlist``, the list that the
  README's recommended ``fickling.hook.activate_safe_ml_environment()`` enforces at load
  time) run statically as an analysis: a pickle is unsafe when it imports anything outside
  that allowlist. Nothing is unpickled.

A pickle that fickling cannot parse is an error, as in the CLI (which exits 2 then).

Exit codes (fickling's ClamAV-style ones, plus 3): 0 clean, 1 unsafe, 2 error, 3 nothing
supported. A JSON report goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import Any

import fickling
from fickling.analysis import Analyzer, Severity, check_safety
from fickling.cli import HF_RAW_PICKLE_EXTENSIONS
from fickling.fickle import Pickled, StackedPickle
from fickling.loader import RelaxedZipFile
from fickling.ml import MLAllowlist

ZIP_MAGIC = b"PK\x03\x04"
ZIP_PICKLE_MEMBER_EXTENSIONS = {".pkl", ".pickle", ".bin"}  # as fickling.scan_zip_archive


def _rank(severity: Severity) -> int:
    return int(severity.value[0])


def _is_zip(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4)
    return head == ZIP_MAGIC or zipfile.is_zipfile(path)


def _is_pickle(path: Path, min_length: int = 2) -> bool:
    """Same test as ``fickling.polyglot.check_pickle`` (which needs torch to import)."""
    with path.open("rb") as f:
        try:
            return len(Pickled.load(f)) > min_length
        except Exception:  # any parse failure means "not a pickle"
            f.seek(0)
            try:
                stacked = StackedPickle.load(f)
                return any(len(p) > min_length for p in stacked.pickled)
            except Exception:
                return False


def _analyze(name: str, data: bytes, analyzer: Analyzer | None) -> dict[str, Any]:
    """One pickle stream (possibly stacked): worst severity, messages, parse errors."""
    try:
        stacked = StackedPickle.load(BytesIO(data), fail_on_decode_error=False)
        worst = Severity.LIKELY_SAFE
        messages: list[str] = []
        for pickled in stacked:
            results = check_safety(pickled, analyzer=analyzer)
            if _rank(results.severity) > _rank(worst):
                worst = results.severity
            messages.extend(r.message for r in results.results if r.message)
        return {"name": name, "severity": worst.name, "messages": messages[:5], "error": None}
    except Exception as e:  # parse/analysis failure is reported as an error
        return {"name": name, "severity": None, "messages": [], "error": f"{type(e).__name__}: {e}"}


def scan_one(path: Path, analyzer: Analyzer | None) -> dict[str, Any]:
    members: list[dict[str, Any]] = []
    if _is_zip(path):
        kind = "zip"
        try:
            with RelaxedZipFile(path, "r") as archive:
                for info in archive.infolist():
                    ext = PurePosixPath(info.filename).suffix.lower()
                    if info.is_dir() or ext not in ZIP_PICKLE_MEMBER_EXTENSIONS:
                        continue
                    members.append(_analyze(info.filename, archive.read(info), analyzer))
        except (zipfile.BadZipFile, OSError) as e:
            members.append({"name": "<archive>", "error": f"{type(e).__name__}: {e}"})
    elif path.suffix.lower() in HF_RAW_PICKLE_EXTENSIONS or _is_pickle(path):
        kind = "pickle"
        members.append(_analyze(path.name, path.read_bytes(), analyzer))
    else:
        return {"path": str(path), "kind": "unsupported", "verdict": "unsupported"}
    if not members:  # a ZIP without any pickle member
        return {"path": str(path), "kind": kind, "verdict": "unsupported"}
    ranks = [_rank(Severity[m["severity"]]) for m in members if m.get("severity")]
    if any(m.get("error") for m in members):
        verdict = "error"
    elif ranks and max(ranks) > _rank(Severity.LIKELY_SAFE):
        verdict = "unsafe"
    else:
        verdict = "clean"
    return {"path": str(path), "kind": kind, "verdict": verdict, "members": members}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["check-safety", "ml-allowlist"], required=True)
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    analyzer = Analyzer([MLAllowlist()]) if args.mode == "ml-allowlist" else None
    root: Path = args.path
    if root.is_dir():
        files = sorted(Path(d) / name for d, _subdirs, names in os.walk(root) for name in names)
    else:
        files = [root]
    reports = [scan_one(p, analyzer) for p in files]
    verdicts = {r["verdict"] for r in reports}
    doc = {"fickling_version": fickling.__version__, "mode": args.mode, "files": reports}
    print(json.dumps(doc))
    if "error" in verdicts:
        return 2
    if "unsafe" in verdicts:
        return 1
    if verdicts <= {"unsupported"}:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
