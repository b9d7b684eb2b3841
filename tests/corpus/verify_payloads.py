"""Check that every malicious sample really executes when loaded, and benign ones load.

Builds the corpus in a temporary directory, then loads each sample with its victim loader
in a *child* interpreter (never in this process) and checks that the marker file appeared.
Benign samples must load without error (except ``unknown-class``, whose module is missing)
and must not create the marker.

    cd /work/main && .venv/bin/python tests/corpus/verify_payloads.py [-j 2] [-k substring]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``corpus`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import build_benign, build_malicious
from corpus.loaders import LOADERS, NO_LOADER, loader_of
from corpus.sample import Sample

TIMEOUT_S = 120


def _run(sample: Sample, marker: Path, workdir: Path) -> tuple[bool, str]:
    """Load ``sample`` in a child process; return (passed, detail)."""
    marker.unlink(missing_ok=True)
    if loader_of(sample) == NO_LOADER:
        return True, "no loader: harm is not code execution"
    snippet = LOADERS[loader_of(sample)]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", snippet, str(sample.path)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return False, "timeout"
    slow = time.monotonic() - t0 > 10
    if slow:
        print(f"slow: {sample.name} took {time.monotonic() - t0:.0f}s", file=sys.stderr)
    fired = marker.exists()
    marker.unlink(missing_ok=True)
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    last = err[-1] if err else ""
    if sample.kind == "malicious":
        return fired, "" if fired else f"marker not created; rc={proc.returncode} {last}"
    if fired:
        return False, "benign sample created the marker"
    if "unknown-class" in sample.tags:
        ok = "ModuleNotFoundError" in last
        return ok, "" if ok else f"expected ModuleNotFoundError, got rc={proc.returncode} {last}"
    return proc.returncode == 0, "" if proc.returncode == 0 else last


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=2, help="parallel loaders (default 2)")
    ap.add_argument("-k", "--filter", default="", help="only samples whose name contains this")
    ap.add_argument("--no-benign", action="store_true", help="skip the benign samples")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mlw-verify-") as tmp:
        root = Path(tmp)
        t0 = time.monotonic()
        # One corpus per worker, each with its own marker, so loaders can run in parallel.
        jobs: list[list[tuple[Sample, Path]]] = []
        for w in range(max(1, args.jobs)):
            marker = root / f"w{w}" / "marker" / "PWNED"
            marker.parent.mkdir(parents=True)
            samples = build_malicious(root / f"w{w}" / "mal", marker)
            if not args.no_benign:
                samples += build_benign(root / f"w{w}" / "ben")
            jobs.append([(s, marker) for s in samples if args.filter in s.name])
        print(f"built {len(jobs[0])} samples x {len(jobs)} in {time.monotonic() - t0:.1f}s")
        # Each worker walks its own corpus in order: one marker, one loader at a time.
        shards = [job[w :: len(jobs)] for w, job in enumerate(jobs)]

        def run_shard(w: int) -> list[tuple[Sample, bool, str]]:
            return [(s, *_run(s, m, root / f"w{w}")) for s, m in shards[w]]

        with ThreadPoolExecutor(len(jobs)) as pool:
            results = [r for shard in pool.map(run_shard, range(len(jobs))) for r in shard]

    failed = 0
    for sample, ok, detail in sorted(results, key=lambda r: r[0].name):
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {sample.kind:9} {sample.name:42} {sample.technique}")
        if detail:
            print(f"       {detail}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
