"""``safe_load``: scan first, then load with the most restricted loader the format has.

Even after a clean scan, pickle-based files are loaded by an unpickler that can only
import what the scanner's allowlist allows, so a scanner miss cannot become code execution.
"""

from __future__ import annotations

import inspect
import io
import pickle
from pathlib import Path
from typing import Any

from mlwarden.engine import scan_blob
from mlwarden.errors import UnsafeModelError, UsageError
from mlwarden.findings import Location, Severity
from mlwarden.scanners.base import Blob, ScanSettings
from mlwarden.scanners.model.pickle_policy import PicklePolicy, Verdict, policy_for


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that imports only allowlisted callables."""

    def __init__(self, file: io.BufferedIOBase, policy: PicklePolicy) -> None:
        super().__init__(file)
        self._policy = policy

    def find_class(self, module: str, name: str) -> Any:
        judgement = self._policy.judge(module, name)
        if judgement.verdict is not Verdict.ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to import {judgement.dotted}: {judgement.reason}"
            )
        return super().find_class(module, name)


def _restricted_joblib_load(data: bytes, name: str, policy: PicklePolicy) -> Any:
    from joblib import numpy_pickle

    class _Unpickler(numpy_pickle.NumpyUnpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            judgement = policy.judge(module, name)
            if judgement.verdict is not Verdict.ALLOWED:
                raise pickle.UnpicklingError(f"refused to import {judgement.dotted}")
            return super().find_class(module, name)

    with numpy_pickle._validate_fileobject_and_memmap(io.BytesIO(data), name, None) as (fobj, _):
        # joblib >= 1.5 takes ensure_native_byte_order; earlier releases do not.
        params = inspect.signature(numpy_pickle.NumpyUnpickler.__init__).parameters
        extra = {"ensure_native_byte_order": True} if "ensure_native_byte_order" in params else {}
        return _Unpickler(name, fobj, **extra).load()  # safe: restricted find_class


def safe_load(path: str, *, fail_on: str = "medium", settings: ScanSettings | None = None) -> Any:
    """Scan ``path``; load it only when no finding reaches ``fail_on``.

    Loaders: safetensors (dict of NumPy arrays), ``.npy`` (``allow_pickle=False``),
    PyTorch (torch with ``weights_only=True``), raw pickle and joblib (restricted
    unpickler). Raises :class:`UnsafeModelError` with the findings when the scan blocks,
    :class:`UsageError` for formats without a safe loader.
    """
    settings = settings or ScanSettings()
    threshold = Severity.parse(fail_on)
    file = Path(path)
    if not file.is_file():
        raise UsageError(path, "no such file", "check the path")
    # Read once: what is loaded is exactly what was scanned, even if the file changes.
    data = file.read_bytes()
    findings, _status, fmt = scan_blob(Blob(data, Location(path), file.name), settings)
    blocking = [f for f in findings if f.severity >= threshold]
    if blocking:
        raise UnsafeModelError(path, blocking)
    policy = policy_for(settings)
    kind = fmt.split("+", 1)[0]
    if kind == "safetensors":
        from safetensors.numpy import load as load_safetensors

        return load_safetensors(data)
    if kind == "numpy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "zip" and "pickle" in fmt:
        import torch

        return torch.load(io.BytesIO(data), weights_only=True)  # safe: restricted unpickler
    if kind in ("zlib", "gzip", "bz2", "xz", "lzma", "joblib-zfile") or (
        kind == "pickle" and b"joblib.numpy_pickle" in data[:65536]
    ):
        return _restricted_joblib_load(data, path, policy)
    if kind == "pickle":
        return RestrictedUnpickler(io.BytesIO(data), policy).load()  # safe: restricted
    raise UsageError(
        path,
        f"no safe loader for the {fmt} format",
        "load it with its framework's own safe mode after `mlwarden scan` shows it clean",
    )
