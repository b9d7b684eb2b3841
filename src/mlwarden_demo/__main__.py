"""python -m mlwarden_demo FOLDER: write the demo models into FOLDER."""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path


class _TouchMarker:
    """Would run `touch` on a marker file if unpickled: a harmless stand-in for malware."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def build(folder: Path) -> list[Path]:
    import joblib
    import numpy as np
    import torch
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder.mkdir(parents=True, exist_ok=True)
    marker = str(folder.resolve() / "PWNED")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)), rng.integers(0, 2, 200)
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5)).fit(x, y)
    out: dict[str, Callable[[Path], object]] = {
        "benign/pipeline.joblib": lambda p: joblib.dump(model, p, compress=3),
        "benign/resnet-ish.pt": lambda p: torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), p),
        "benign/embeddings.npy": lambda p: np.save(p, rng.normal(size=(16, 8))),
        "malicious/backdoored.pkl": lambda p: p.write_bytes(pickle.dumps(_TouchMarker(marker))),
        "malicious/checkpoint.pt": lambda p: torch.save(
            {"w": torch.ones(2), "x": _TouchMarker(marker)}, p
        ),
        "malicious/model.joblib": lambda p: joblib.dump([model, _TouchMarker(marker)], p),
    }
    written = []
    for name, write in out.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        written.append(path)
    return written


def _luhn_complete(prefix: str, length: int) -> str:
    digits = [int(d) for d in prefix]
    body = digits + [0] * (length - len(digits) - 1)
    total = 0
    for i, d in enumerate(reversed(body)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


def build_project(folder: Path) -> list[Path]:
    """A small ML project with the human errors `mlwarden scan` looks for: cardholder data
    in a training CSV, a (made-up) Hugging Face token in a notebook, a Dockerfile that pipes
    curl into sh and a Kubernetes job that runs privileged. Nothing here is a real secret."""
    import json
    import random
    import string

    rng = random.Random(7)
    fake_token = "hf_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))
    rows = ["customer_id,email,card_number,spend"]
    for i in range(20):
        card = _luhn_complete("4" + "".join(rng.choice(string.digits) for _ in range(5)), 16)
        rows.append(f"{1000 + i},user{i}@example.com,{card},{rng.randint(5, 500)}")
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "outputs": [],
                "source": ["from huggingface_hub import login\n", f'login(token="{fake_token}")\n'],
            }
        ],
    }
    files = {
        "project/data/customers.csv": "\n".join(rows) + "\n",
        "project/notebooks/explore.ipynb": json.dumps(notebook, indent=1),
        "project/deploy/Dockerfile": (
            "FROM python:latest\nRUN curl -sSL https://example.com/setup.sh | sh\n"
        ),
        "project/deploy/train-job.yaml": (
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: train\nspec:\n  template:\n"
            "    spec:\n      containers:\n      - name: train\n        image: trainer:latest\n"
            "        securityContext:\n          privileged: true\n      restartPolicy: Never\n"
        ),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-models")
    for path in [*build(folder), *build_project(folder)]:
        print(f"wrote {path}")
    print(f"\nNow scanning {folder}/ (nothing in it is ever loaded):\n")


if __name__ == "__main__":
    main()
