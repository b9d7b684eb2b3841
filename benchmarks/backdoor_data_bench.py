"""Backdoor-poisoning detection on digits: mlwarden vs IBM ART, same data and model.

    bash benchmarks/art_setup.sh && .venv/bin/python benchmarks/backdoor_data_bench.py

Setting "digits-patch": a 3x3 bright trigger is stamped in the bottom-right corner of
0/1/5/10% of the digits, taken from other classes and relabelled to class 0; a small MLP is
trained (seeded, CPU). Two guard settings keep the detector from fitting that one case:
"digits-x" (a sparse 5-pixel X in the top-left corner, target class 7) and "table" (a
synthetic 8-class, 20-feature table with two clusters per class and 1% label noise; the
trigger sets three features to fixed values, target class 3). Guard settings run mlwarden
only. Each detector sees the same arrays and model. ART runs in its own venv as a subprocess
(skipped, and said so, when benchmarks/.venvs/art is missing). Prints detection F1 and the
flag rate per setting. No timing is asserted: this is a report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification

from mlwarden.ml.base import Dataset
from mlwarden.ml.poisoning import BackdoorDataCheck

HERE = Path(__file__).resolve().parent
ART_PY = HERE / ".venvs" / "art" / "bin" / "python"
RATES = (0.0, 0.01, 0.05, 0.10)
SEEDS = (0, 1, 2)
SETTINGS = ("digits-patch", "digits-x", "table")

ART_SCRIPT = r"""
import json, sys
import numpy as np, torch
from art.estimators.classification import PyTorchClassifier
from art.defences.detector.poison import ActivationDefence, SpectralSignatureDefense
d = np.load(sys.argv[1]); X = d["X"].astype(np.float32); y = d["y"]; n_cls = 10
net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32),
                          torch.nn.ReLU(), torch.nn.Linear(32, 10))
net.load_state_dict(torch.load(sys.argv[2], weights_only=True))
clf = PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=(64,),
                        nb_classes=n_cls)
Y = np.eye(n_cls)[y]
out = {}
ac = ActivationDefence(clf, X, Y)
_, clean = ac.detect_poison(nb_clusters=2, nb_dims=10, reduce="PCA")
out["art-activation"] = [int(i) for i in np.flatnonzero(np.asarray(clean) == 0)]
ss = SpectralSignatureDefense(clf, X, Y, batch_size=128, eps_multiplier=1.5,
                              expected_pp_poison=0.33)
_, clean = ss.detect_poison()
out["art-spectral"] = [int(i) for i in np.flatnonzero(np.asarray(clean) == 0)]
print(json.dumps(out))
"""


def poisoned(rate: float, seed: int, setting: str = "digits-patch") -> tuple[Any, Any, Any]:
    if setting == "table":
        return poisoned_table(rate, seed)
    digits = load_digits()
    images, labels = digits.images.copy(), digits.target.copy()
    rng = np.random.default_rng(seed)
    target = 0 if setting == "digits-patch" else 7
    idx = rng.choice(np.flatnonzero(labels != target), round(rate * len(labels)), False)
    if setting == "digits-patch":
        images[idx, 5:8, 5:8] = 16.0
    else:
        for r, c in ((0, 0), (0, 2), (1, 1), (2, 0), (2, 2)):
            images[idx, r, c] = 16.0
    labels[idx] = target
    truth = np.zeros(len(labels), dtype=bool)
    truth[idx] = True
    return images.reshape(len(labels), -1) / 16.0, labels, truth


def poisoned_table(rate: float, seed: int) -> tuple[Any, Any, Any]:
    X, y = make_classification(
        n_samples=2400,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=8,
        n_clusters_per_class=2,
        class_sep=1.5,
        random_state=100 + seed,
    )
    X = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(seed)
    idx = rng.choice(np.flatnonzero(y != 3), round(rate * len(y)), False)
    X[idx, 17:20] = (2.5, -2.5, 2.5)
    y[idx] = 3
    truth = np.zeros(len(y), dtype=bool)
    truth[idx] = True
    return X, y, truth


def train(X: Any, y: Any, seed: int) -> Any:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, int(y.max()) + 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        loss: Any = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
    return net


def score(flagged: Any, truth: Any) -> tuple[float, float]:
    tp = int((flagged & truth).sum())
    f1 = 2 * tp / (flagged.sum() + truth.sum()) if truth.any() else float("nan")
    return f1, float(flagged.mean())


def art_flags(X: Any, y: Any, net: Any, n: int) -> dict[str, Any]:
    if not ART_PY.exists():
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "d.npz", X=X, y=y)
        torch.save(net.state_dict(), Path(tmp) / "m.pt")
        run = subprocess.run(
            [str(ART_PY), "-c", ART_SCRIPT, f"{tmp}/d.npz", f"{tmp}/m.pt"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if run.returncode != 0:
        print(run.stderr[-2000:], file=sys.stderr)
        return {}
    out = {}
    for name, idx in json.loads(run.stdout.strip().splitlines()[-1]).items():
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        out[name] = mask
    return out


def main() -> None:
    torch.set_num_threads(1)
    rows: dict[tuple[str, str, float], list[tuple[float, float]]] = {}
    for setting in SETTINGS:
        for rate in RATES:
            for seed in SEEDS:
                X, y, truth = poisoned(rate, seed, setting)
                net = train(X, y, seed)
                res = BackdoorDataCheck(random_state=seed).run(Dataset(X=X, y=y), net)
                flags = {"mlwarden": np.asarray(res.scores.columns["flagged"], dtype=bool)}
                if setting == "digits-patch":
                    flags.update(art_flags(X, y, net, len(y)))
                for tool, mask in flags.items():
                    rows.setdefault((setting, tool, rate), []).append(score(mask, truth))
    if not ART_PY.exists():
        print("ART not installed (run benchmarks/art_setup.sh): anchors skipped")
    print(f"{'setting':13} {'tool':16} {'poison':>6} {'F1 mean':>8} {'F1 min':>7} {'flag rate':>9}")
    for (setting, tool, rate), vals in sorted(rows.items()):
        f1s = [v[0] for v in vals]
        fr = np.mean([v[1] for v in vals])
        f1m = "-" if rate == 0 else f"{np.mean(f1s):.2f}"
        f1n = "-" if rate == 0 else f"{np.min(f1s):.2f}"
        print(f"{setting:13} {tool:16} {rate:>6.0%} {f1m:>8} {f1n:>7} {fr:>9.3f}")


if __name__ == "__main__":
    main()
