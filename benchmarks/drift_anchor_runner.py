"""Run one drift anchor inside its own venv (called by drift_bench.py via subprocess).

    python drift_anchor_runner.py {alibi-ks,alibi-mmd,evidently} DATA.npz LIMIT

Reads ``reference`` (m, 10) and ``windows`` (w, 500, 10) from the npz (column 9 holds
category codes), prints one JSON line: {"alarms": [0/1 per window], "seconds": [...]}.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> None:
    tool, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = np.load(path)
    reference, windows = data["reference"], data["windows"][:limit]
    alarms, seconds = [], []
    if tool.startswith("alibi"):
        if tool == "alibi-ks":
            from alibi_detect.cd import KSDrift

            detector = KSDrift(reference.astype(np.float32), p_val=0.05)
        else:
            from alibi_detect.cd import MMDDrift

            detector = MMDDrift(
                reference[:2000].astype(np.float32),
                backend="pytorch",
                p_val=0.05,
                n_permutations=100,
            )
        for window in windows:
            start = time.perf_counter()
            alarms.append(int(detector.predict(window.astype(np.float32))["data"]["is_drift"]))
            seconds.append(time.perf_counter() - start)
    else:
        import pandas as pd
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        names = [f"f{i}" for i in range(reference.shape[1])]
        definition = DataDefinition(numerical_columns=names[:-1], categorical_columns=names[-1:])

        def frame(x: np.ndarray) -> Dataset:
            df = pd.DataFrame(x, columns=names)
            df[names[-1]] = df[names[-1]].astype(int).astype(str)
            return Dataset.from_pandas(df, data_definition=definition)

        ref = frame(reference[:5000])
        for window in windows:
            start = time.perf_counter()
            result = Report([DataDriftPreset()]).run(frame(window), ref).dict()
            # The preset's dataset-level verdict: at least half of the columns drifted.
            share = next(
                m["value"]["share"]
                for m in result["metrics"]
                if "DriftedColumnsCount" in m.get("metric_name", "")
            )
            alarms.append(int(share >= 0.5))
            seconds.append(time.perf_counter() - start)
    print(json.dumps({"alarms": alarms, "seconds": seconds}))


if __name__ == "__main__":
    main()
