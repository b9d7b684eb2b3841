"""ONNX models served with ONNX Runtime, after mlwarden's own scan of the same bytes.

The scanned bytes are written to a fresh private folder and loaded from there, so what runs
is what was scanned and tensors stored as external data find nothing to read: a served ONNX
model must carry its weights inside the file.

Outputs are read as follows: an integer or string output of one value per row gives the
labels; a float output of several columns per row gives the scores, as probabilities when
they already are (non-negative, rows summing to 1) and through a softmax otherwise, unless
the architecture says ``{"output": "logits"}`` or ``{"output": "probabilities"}``. A
lone float output of one value per row is a regression. ``{"classes": [...]}`` names the
score columns.
"""

from __future__ import annotations

import importlib
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.engine import scan_blob
from mlwarden.errors import UnsafeModelError, UsageError
from mlwarden.findings import Location, Severity
from mlwarden.gateway.prediction import Prediction, label_list, softmax
from mlwarden.scanners.base import Blob, ScanSettings

_INPUT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}
_OUTPUT_MODES = ("auto", "logits", "probabilities")


def onnx_predictor(
    path: Path, row_shape: tuple[int, ...], architecture: dict[str, Any] | None
) -> Callable[[npt.NDArray[Any]], Prediction]:
    """Scan ``path``, refuse it on any finding of medium severity or more, load it."""
    try:  # optional, and untyped: imported by name so mypy needs no stub for it
        ort: Any = importlib.import_module("onnxruntime")
    except ImportError:
        raise UsageError(
            str(path), "serving ONNX needs onnxruntime", "pip install onnxruntime"
        ) from None
    spec = dict(architecture or {})
    mode = spec.pop("output", "auto")
    classes = spec.pop("classes", None)
    if spec or mode not in _OUTPUT_MODES or not (classes is None or isinstance(classes, list)):
        raise UsageError(
            "architecture",
            f"unsupported ONNX settings {sorted(architecture or {})}",
            f"use only 'output' (one of {', '.join(_OUTPUT_MODES)}) and 'classes' (a list)",
        )
    data = path.read_bytes()
    findings, _status, fmt = scan_blob(Blob(data, Location(str(path)), path.name), ScanSettings())
    blocking = [f for f in findings if f.severity >= Severity.MEDIUM]
    if blocking:
        raise UnsafeModelError(str(path), blocking)
    if fmt.split("+", 1)[0] != "onnx":
        raise UsageError(str(path), f"is a {fmt} file, not ONNX", "declare the right framework")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="mlwarden-onnx-") as folder:
        copy = Path(folder) / "model.onnx"
        copy.write_bytes(data)
        try:
            session = ort.InferenceSession(
                str(copy), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped failures
            raise UsageError(
                str(path), f"ONNX Runtime cannot load it ({exc})", "store weights in the file"
            ) from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].type not in _INPUT_TYPES:
        raise UsageError(
            str(path),
            f"has inputs {[(i.name, i.type) for i in inputs]}",
            "serve models with exactly one numeric tensor input",
        )
    feed_shape = _feed_shape(path, list(inputs[0].shape[1:]), row_shape)
    for out in outputs:
        if not out.type.startswith("tensor("):
            raise UsageError(
                str(path), f"output {out.name} is a {out.type}", "export without ZipMap"
            )
    name, dtype = inputs[0].name, _INPUT_TYPES[inputs[0].type]
    lock_free_run: Callable[..., list[Any]] = session.run  # InferenceSession.run is thread-safe

    def predict(x: npt.NDArray[Any]) -> Prediction:
        feed: npt.NDArray[Any] = np.ascontiguousarray(x, dtype=dtype).reshape(len(x), *feed_shape)
        results = lock_free_run(None, {name: feed})
        return _read_outputs(results, len(x), mode, classes)

    return predict


def _feed_shape(path: Path, dims: list[Any], row_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-row shape the model is fed: its own when fully declared and of the same size
    as the schema's rows (a flattening MLP), the schema's when the dims agree."""
    if all(isinstance(d, int) for d in dims) and math.prod(dims) == math.prod(row_shape):
        return tuple(dims)
    if len(dims) == len(row_shape) and all(
        not isinstance(d, int) or d == r for d, r in zip(dims, row_shape, strict=True)
    ):
        return row_shape
    raise UsageError(
        str(path),
        f"expects rows of shape {dims}, the input schema declares {list(row_shape)}",
        "make the input schema match the model",
    )


def _read_outputs(
    results: list[Any], rows: int, mode: str, classes: list[Any] | None
) -> Prediction:
    labels: npt.NDArray[Any] | None = None
    scores: npt.NDArray[np.float64] | None = None
    single: npt.NDArray[Any] | None = None
    for value in results:
        arr = np.asarray(value)
        if arr.shape[:1] != (rows,):
            continue
        per_row = arr.reshape(rows, -1)
        if arr.dtype.kind in "iuUSOb" and per_row.shape[1] == 1 and labels is None:
            labels = per_row[:, 0]
        elif arr.dtype.kind == "f" and per_row.shape[1] > 1 and scores is None:
            scores = per_row.astype(np.float64)
        elif arr.dtype.kind == "f" and per_row.shape[1] == 1 and single is None:
            single = per_row[:, 0]
    if scores is not None:
        looks_like_probabilities = bool(
            (scores >= 0).all() and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
        )
        if mode == "logits" or (mode == "auto" and not looks_like_probabilities):
            scores = softmax(scores)
        if labels is None:
            top = scores.argmax(axis=1)
            labels = np.asarray(classes, dtype=object)[top] if classes else top
        return Prediction(label_list(labels), scores.tolist())
    if labels is not None:
        return Prediction(label_list(labels), None)
    if single is not None:
        return Prediction(label_list(single.astype(np.float64)), None)
    raise ValueError("no ONNX output holds one label or one row of scores per input row")
