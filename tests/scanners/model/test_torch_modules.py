"""Every torch.nn module that builds with simple arguments, saved whole, scans clean."""

from __future__ import annotations

import inspect
import io
import warnings

import pytest

from mlwarden.engine import scan_blob
from mlwarden.findings import Location, Severity
from mlwarden.scanners.base import Blob, ScanSettings


def test_saved_modules_and_optimizers_scan_clean() -> None:
    torch = pytest.importorskip("torch")
    saved: dict[str, bytes] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in dir(torch.nn):
            cls = getattr(torch.nn, name)
            if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
                continue
            for args in ((), (4,), (4, 4), (4, 4, 3)):
                try:
                    module = cls(*args)
                except Exception:
                    continue
                buffer = io.BytesIO()
                try:
                    torch.save(module, buffer)
                except Exception:
                    break  # some modules cannot be pickled at all
                saved[name] = buffer.getvalue()
                break
        net = torch.nn.Linear(4, 4)
        for opt in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS"):
            buffer = io.BytesIO()
            torch.save(getattr(torch.optim, opt)(net.parameters(), lr=0.1), buffer)
            saved[f"optim.{opt}"] = buffer.getvalue()
    assert len(saved) > 100
    noisy = []
    for name, data in saved.items():
        findings, _, _ = scan_blob(Blob(data, Location(name), f"{name}.pt"), ScanSettings())
        flagged = [(f.rule_id, f.title) for f in findings if f.severity >= Severity.MEDIUM]
        if flagged:
            noisy.append(f"{name}: {flagged}")
    assert not noisy, "\n".join(noisy)
