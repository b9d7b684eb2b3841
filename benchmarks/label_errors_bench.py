"""Label-error detection: mlwarden's LabelErrorCheck against cleanlab alone.

    .venv/bin/python benchmarks/label_errors_bench.py   # [--seed 0]

For digits, breast cancer and wine x {10%, 20%} x {uniform, confusable} noise, both methods
see the same out-of-fold probabilities (logistic regression on standardized features,
5 stratified folds): cleanlab runs ``find_label_issues`` on them, mlwarden adds its
neighbour vote. Prints precision / recall / F1 of each and mlwarden's total time per run.
Confusable noise flips labels only between look-alike classes (digits 1<->7, 3<->8,
4<->9, 5<->6, 2->3, 0->6; breast cancer benign->malignant; wine 1<->2, 0->1).
No figure is asserted: this is a report (tests/ml/test_label_errors.py holds the floor).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt
from cleanlab.filter import find_label_issues
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

from mlwarden.ml.base import Dataset
from mlwarden.ml.label_errors import LabelErrorCheck

CONFUSABLE: dict[str, dict[int, int]] = {
    "digits": {1: 7, 7: 1, 3: 8, 8: 3, 4: 9, 9: 4, 5: 6, 6: 5, 2: 3, 0: 6},
    "breast_cancer": {1: 0},
    "wine": {1: 2, 2: 1, 0: 1},
}
LOADERS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}


def add_noise(
    y: npt.NDArray[np.int_], rate: float, kind: str, dataset: str, seed: int
) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.bool_]]:
    """Labels with ``rate`` of rows flipped, and the mask of flipped rows."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    count = round(rate * len(y))
    classes = np.unique(y)
    if kind == "uniform":
        rows = rng.choice(len(y), count, replace=False)
        for i in rows:
            noisy[i] = rng.choice(classes[classes != y[i]])
    else:
        pairs = CONFUSABLE[dataset]
        rows = rng.choice(np.flatnonzero(np.isin(y, list(pairs))), count, replace=False)
        for i in rows:
            noisy[i] = pairs[int(y[i])]
    return noisy, np.isin(np.arange(len(y)), rows)


def prf(flagged: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
    hits = int((flagged & truth).sum())
    p = hits / max(int(flagged.sum()), 1)
    r = hits / max(int(truth.sum()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    header = (
        f"{'dataset':14} {'noise':>5} {'kind':10} | {'cleanlab P/R/F1':>20} | "
        f"{'mlwarden P/R/F1':>20} | {'dF1':>6} | {'time s':>6}"
    )
    print(header)
    print("-" * len(header))
    gains = []
    for dataset, loader in LOADERS.items():
        X, y = loader(return_X_y=True)
        for rate in (0.1, 0.2):
            for kind in ("uniform", "confusable"):
                noisy, truth = add_noise(y, rate, kind, dataset, args.seed)
                data = Dataset(X=X, y=noisy)
                check = LabelErrorCheck(random_state=args.seed)
                start = time.perf_counter()
                result = check.run(data)
                elapsed = time.perf_counter() - start
                # cleanlab alone on the same out-of-fold probabilities (same folds and seed;
                # labels here are already 0..k-1, so the check's label codes equal them).
                probs = check._out_of_fold_probs(data, X.astype(float), noisy, len(set(y)), None)
                ours = np.asarray(result.scores.columns["flagged"]) > 0
                # cleanlab alone on the very same out-of-fold probabilities.
                theirs = np.asarray(find_label_issues(noisy, probs), dtype=bool)
                cp, cr, cf = prf(theirs, truth)
                mp, mr, mf = prf(ours, truth)
                gains.append(mf - cf)
                print(
                    f"{dataset:14} {rate:>5.0%} {kind:10} | {cp:6.3f} {cr:6.3f} {cf:6.3f} | "
                    f"{mp:6.3f} {mr:6.3f} {mf:6.3f} | {mf - cf:+6.3f} | {elapsed:6.2f}"
                )
    print(
        f"\nmlwarden F1 higher in {sum(g > 0 for g in gains)}/{len(gains)} settings; "
        f"mean gain {np.mean(gains):+.3f}, smallest {min(gains):+.3f}"
    )


if __name__ == "__main__":
    main()
