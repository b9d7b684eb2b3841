"""Drift detection: mlwarden DriftCheck vs scipy KS (per feature, Bonferroni) and, when
benchmarks/drift_anchors_setup.sh has built their venvs, alibi-detect KSDrift/MMDDrift
and evidently DataDriftPreset.

    .venv/bin/python benchmarks/drift_bench.py [--windows 200] [--slow-windows 20]

Reference: 10,000 rows x 10 features (9 standard normal, 1 categorical with 4 levels).
Windows: 500 rows, fixed seeds, one set per shift type. Prints detection rate (false-
alarm rate for "none") and median milliseconds per window.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

from mlwarden.ml.base import Dataset
from mlwarden.monitor import DriftCheck, ReferenceProfile

HERE = Path(__file__).resolve().parent
D, N, M = 10, 500, 10_000
CAT_P = np.array([0.4, 0.3, 0.2, 0.1])
SHIFTS: dict[str, dict[str, float]] = {
    "none": {},
    "mean shift (f0 +0.25 sd)": {"mean": 0.25},
    "variance (f1 x1.3)": {"scale": 1.3},
    "correlation (f2,f3 0->0.5)": {"rho": 0.5},
    "categorical (f9 freq)": {"cat": 1.0},
}


def sample(rng: np.random.Generator, n: int, mean: float = 0, scale: float = 1, rho: float = 0,
           cat: float = 0) -> np.ndarray:  # fmt: skip
    x = rng.standard_normal((n, D))
    x[:, 3] = rho * x[:, 2] + np.sqrt(1 - rho**2) * x[:, 3]
    x[:, 0] += mean
    x[:, 1] *= scale
    p = CAT_P if not cat else np.array([0.32, 0.33, 0.23, 0.12])
    x[:, 9] = rng.choice(4, size=n, p=p)
    return x


def scipy_ks(reference: np.ndarray, window: np.ndarray, alpha: float = 0.05) -> bool:
    p = [stats.ks_2samp(reference[:, j], window[:, j]).pvalue for j in range(D)]
    return min(p) < alpha / D


def anchor(tool: str, venv: str, path: Path, limit: int) -> dict[str, list[float]] | None:
    python = HERE / ".venvs" / venv / "bin" / "python"
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), str(HERE / "drift_anchor_runner.py"), tool, str(path), str(limit)],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        print(f"  {tool} failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--anchor-windows", type=int, default=200)
    # alibi's MMD permutation test and evidently's report take seconds per window on 2
    # cores: they see the first N windows of each set.
    parser.add_argument("--slow-windows", type=int, default=20)
    parser.add_argument(
        "--only", default="", help="run only the shift types whose label contains this text"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(20261127)
    reference = sample(rng, M)
    names = tuple(f"f{i}" for i in range(D))
    profile = ReferenceProfile.fit(Dataset(reference, feature_names=names), categorical=("f9",))
    check = DriftCheck(profile)
    rows = []
    scratch = tempfile.TemporaryDirectory(prefix="drift-bench-")
    for s, (label, shift) in enumerate(SHIFTS.items()):
        if args.only not in label:
            continue
        wrng = np.random.default_rng(1000 + s)
        windows = np.stack([sample(wrng, N, **shift) for _ in range(args.windows)])
        ours, times = [], []
        for w in windows:
            start = time.perf_counter()
            ours.append(not check.run(Dataset(w, feature_names=names)).passed)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        ks = [scipy_ks(reference, w) for w in windows]
        ks_ms = (time.perf_counter() - start) / len(windows) * 1000
        path = Path(scratch.name) / f"drift_{s}.npz"
        np.savez(path, reference=reference, windows=windows)
        row = {
            "shift": label,
            "mlwarden": (np.mean(ours), np.median(times) * 1000),
            "scipy KS+Bonf.": (np.mean(ks), ks_ms),
        }
        for tool, venv in (("alibi-ks", "drift-alibi"), ("alibi-mmd", "drift-alibi"),
                           ("evidently", "drift-evidently")):  # fmt: skip
            limit = args.anchor_windows if tool == "alibi-ks" else args.slow_windows
            out = anchor(tool, venv, path, limit)
            if out is not None:
                row[tool] = (np.mean(out["alarms"]), np.median(out["seconds"]) * 1000)
        rows.append(row)
        print(label, {k: v for k, v in row.items() if k != "shift"}, flush=True)
    scratch.cleanup()
    tools = [k for k in rows[0] if k != "shift"]
    print("\n| shift | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for row in rows:
        cells = [f"{row[t][0]:.1%} ({row[t][1]:.1f} ms)" if t in row else "-" for t in tools]
        print(f"| {row['shift']} | " + " | ".join(cells) + " |")
    print("\nrate = false-alarm rate for 'none', detection rate otherwise; ms = median per window")


if __name__ == "__main__":
    main()
