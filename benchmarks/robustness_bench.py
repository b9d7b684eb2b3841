"""Robust accuracy of mlwarden's FGSM/PGD vs IBM ART 1.20.1 on the same digits MLP.

    bash benchmarks/art_setup.sh && .venv/bin/python benchmarks/robustness_bench.py

The project venv trains the model and runs mlwarden; ART runs in benchmarks/.venvs/art on
the saved weights. PGD uses no random start on both sides so the figures are comparable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

EPS = (0.0, 0.01, 0.03, 0.1, 0.2)
STEPS = 10
ART_PY = Path(__file__).parent / ".venvs" / "art" / "bin" / "python"

ART_SCRIPT = r"""
import json, sys, time, numpy as np, torch
from art.estimators.classification import PyTorchClassifier
from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
d = np.load(sys.argv[1]); X, y = d["X"], d["y"]
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
model.load_state_dict(torch.load(sys.argv[2], weights_only=True)); model.eval()
clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(64,),
                        nb_classes=10, clip_values=(0.0, 1.0))
out = {}
for eps in json.loads(sys.argv[3]):
    for name in ("fgsm", "pgd"):
        t = time.perf_counter()
        if eps == 0:
            adv = X
        elif name == "fgsm":
            adv = FastGradientMethod(clf, eps=eps, batch_size=256).generate(X, y=np.eye(10)[y])
        else:
            adv = ProjectedGradientDescent(clf, eps=eps, eps_step=2.5 * eps / 10, max_iter=10,
                num_random_init=0, batch_size=256, verbose=False).generate(X, y=np.eye(10)[y])
        acc = float((clf.predict(adv).argmax(1) == y).mean())
        out[f"{name}@{eps:g}"] = [acc, time.perf_counter() - t]
print(json.dumps(out))
"""


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
    from mlwarden.ml.base import Dataset
    from mlwarden.ml.robustness import RobustnessCheck

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.tensor(X[:1200])), torch.tensor(y[:1200])
        ).backward()
        opt.step()
    model.eval()
    Xte, yte = X[1200:], y[1200:]
    ours: dict[str, tuple[float, float]] = {}
    for eps in EPS:
        for name in ("fgsm", "pgd"):
            t = time.perf_counter()
            r = RobustnessCheck(
                epsilons=(eps,),
                attacks=(name,),
                pgd_steps=STEPS,
                random_start=False,
                data_range=(0.0, 1.0),
                max_samples=10_000,
            ).run(Dataset(Xte, yte), model)
            ours[f"{name}@{eps:g}"] = (r.metrics[f"{name}@{eps:g}"], time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(f"{tmp}/d.npz", X=Xte, y=yte)
        torch.save(model.state_dict(), f"{tmp}/m.pt")
        proc = subprocess.run(
            [str(ART_PY), "-c", ART_SCRIPT, f"{tmp}/d.npz", f"{tmp}/m.pt", json.dumps(list(EPS))],
            capture_output=True,
            text=True,
            check=True,
        )
    art = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"{'attack@eps':<12} {'mlwarden':>9} {'ART':>7} {'|diff|':>7} "
        f"{'t ours s':>9} {'t ART s':>8}"
    )
    worst = 0.0
    for key, (acc, t) in ours.items():
        a_acc, a_t = art[key]
        worst = max(worst, abs(acc - a_acc))
        print(f"{key:<12} {acc:>9.4f} {a_acc:>7.4f} {abs(acc - a_acc):>7.4f} {t:>9.3f} {a_t:>8.3f}")
    print(f"samples={len(Xte)}  max |diff| = {worst:.4f} (goal <= 0.01)")


if __name__ == "__main__":
    main()
