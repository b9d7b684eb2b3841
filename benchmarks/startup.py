"""Whole-process time on one large checkpoint, repeated: mlwarden against picklescan.

    .venv/bin/python benchmarks/startup.py [--runs 25] [--large-mb 1024] [--file PATH]

A single timed run (as in run_scanners.py) is noisy at tens of milliseconds; this takes
the median of many. Both tools read only the checkpoint's zip directory and pickle, so the
figure is mostly interpreter start-up and imports. Requires `make bench` (or
`bash benchmarks/anchors.sh`) to have installed picklescan.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = {
    "mlwarden": [str(REPO / ".venv/bin/mlwarden"), "scan"],
    "picklescan": [str(REPO / "benchmarks/.venvs/picklescan/bin/picklescan"), "--path"],
}


def median_ms(command: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--large-mb", type=int, default=1024)
    parser.add_argument("--file", type=Path, help="checkpoint to scan (default: build one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        target = args.file
        if target is None:
            sys.path.insert(0, str(REPO / "tests"))
            from corpus import build_large_checkpoint

            target = build_large_checkpoint(Path(tmp) / "large.pt", args.large_mb)
        with target.open("rb") as fh:  # warm the page cache for every tool alike
            while fh.read(16 << 20):
                pass
        print(f"{target.stat().st_size / 2**20:.0f} MB checkpoint, {args.runs} runs each")
        print("| tool | median (ms) | min (ms) |\n|---|---|---|")
        for name, command in TOOLS.items():
            if not Path(command[0]).exists():
                print(f"| {name} | not installed | |")
                continue
            median, fastest = median_ms([*command, str(target)], args.runs)
            print(f"| {name} | {median:.1f} | {fastest:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
