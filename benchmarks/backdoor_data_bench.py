"""Backdoor-poisoning detection on digits: mlwarden vs IBM ART, same data and model.

    bash benchmarks/art_setup.sh && .venv/bin/python benchmarks/backdoor_data_bench.py

A 3x3 bright trigger is stamped in the bottom-right corner of 0/1/5/10% of the digits,
taken from other classes and relabelled to class 0; a small MLP is trained (seeded, CPU).
Each detector sees the same arrays and model. ART runs in its own venv as a subprocess
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
from sklearn.datasets import load_digits

from mlwarden.ml.base import Dataset
from mlwarden.ml.poisoning import BackdoorDataCheck

HERE = Path(__file__).resolve().parent
ART_PY = HERE / ".venvs" / "art" / "bin" / "python"
RATES = (0.0, 0.01, 0.05, 0.10)
SEEDS = (0, 1, 2)

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


def poisoned(rate: float, seed: int) -> tuple[Any, Any, Any]:
    digits = load_digits()
    images, labels = digits.images.copy(), digits.target.copy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(np.flatnonzero(labels != 0), round(rate * len(labels)), False)
    images[idx, 5:8, 5:8] = 16.0
    labels[idx] = 0
    truth = np.zeros(len(labels), dtype=bool)
    truth[idx] = True
    return images.reshape(len(labels), -1) / 16.0, labels, truth


def train(X: Any, y: Any, seed: int) -> Any:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
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
    rows: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for rate in RATES:
        for seed in SEEDS:
            X, y, truth = poisoned(rate, seed)
            net = train(X, y, seed)
            res = BackdoorDataCheck(random_state=seed).run(Dataset(X=X, y=y), net)
            flags = {"mlwarden": np.asarray(res.scores.columns["flagged"], dtype=bool)}
            flags.update(art_flags(X, y, net, len(y)))
            for tool, mask in flags.items():
                rows.setdefault((tool, rate), []).append(score(mask, truth))
    if not ART_PY.exists():
        print("ART not installed (run benchmarks/art_setup.sh): anchors skipped")
    print(f"{'tool':16} {'poison':>6} {'F1 mean':>8} {'F1 min':>7} {'flag rate':>9}")
    for (tool, rate), vals in sorted(rows.items()):
        f1s = [v[0] for v in vals]
        fr = np.mean([v[1] for v in vals])
        f1m = "-" if rate == 0 else f"{np.mean(f1s):.2f}"
        f1n = "-" if rate == 0 else f"{np.min(f1s):.2f}"
        print(f"{tool:16} {rate:>6.0%} {f1m:>8} {f1n:>7} {fr:>9.3f}")


if __name__ == "__main__":
    main()
