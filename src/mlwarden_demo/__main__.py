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


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-models")
    for path in build(folder):
        print(f"wrote {path}")
    print(f"\nNow scanning {folder}/ (nothing in it is ever loaded):\n")


if __name__ == "__main__":
    main()
