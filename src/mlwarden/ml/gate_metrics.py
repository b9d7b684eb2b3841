"""The numbers the validation gate compares, and the JSON file that carries them between
model versions.

``compute_metrics(model, data)`` measures a classifier on labelled held-out data: accuracy,
balanced accuracy, per-class recall and, when the model has ``predict_proba``, log loss and
expected calibration error (ECE: the gap between confidence and accuracy, averaged over
equal-width confidence bins, weighted by the share of samples in each bin).

The metrics file (``--write-metrics``)::

    {"format": "mlwarden-gate-metrics/1", "model": "clf-v1.joblib", "data": "heldout.csv",
     "data_sha256": "…", "n_samples": 569,
     "metrics": {"accuracy": 0.96, "balanced_accuracy": 0.95, "log_loss": 0.11, "ece": 0.03},
     "per_class_recall": {"benign": 0.97, "malignant": 0.93}}

It is read with bounds (size, depth, class count, finite values in range), and every
problem names the file, the problem and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.ml.dataset_bounds import MAX_CLASSES, check_size

FORMAT = "mlwarden-gate-metrics/1"
MAX_METRICS_BYTES = 1 << 20
_PROBABILITY_FLOOR = 1e-15
_FIX = "pass a file written by `mlwarden check gate --write-metrics`, or --baseline-model"


@dataclass(frozen=True)
class GateMetrics:
    """One model version's scores on held-out data."""

    accuracy: float
    balanced_accuracy: float
    per_class_recall: Mapping[str, float]
    """Recall of each class present in the data; keys are the labels as text."""
    log_loss: float | None = None
    """None when the model has no ``predict_proba``."""
    ece: float | None = None
    """Expected calibration error; None when the model has no ``predict_proba``."""
    n_samples: int = 0
    model: str = ""
    """The model file (or a description) the numbers belong to."""
    data: str = ""
    data_sha256: str | None = None
    """Digest of the held-out file, to tell whether two runs saw the same data."""

    def to_json(self) -> str:
        """The metrics file's text (stable key order)."""
        scores = {"accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy}
        if self.log_loss is not None:
            scores["log_loss"] = self.log_loss
        if self.ece is not None:
            scores["ece"] = self.ece
        doc = {
            "format": FORMAT,
            "model": self.model,
            "data": self.data,
            "data_sha256": self.data_sha256,
            "n_samples": self.n_samples,
            "metrics": scores,
            "per_class_recall": dict(sorted(self.per_class_recall.items())),
        }
        return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def compute_metrics(
    model: Any, data: Dataset, *, n_bins: int = 10, described_as: str = ""
) -> GateMetrics:
    """Measure ``model`` (anything with ``predict``) on labelled ``data``."""
    check_size(data, "validation gate")
    if data.y is None:
        raise UsageError(data.source, "the validation gate needs labels", "pass --label COLUMN")
    if not callable(getattr(model, "predict", None)):
        raise UsageError(
            described_as or data.source,
            f"a {type(model).__name__} has no predict()",
            "pass a fitted classifier (a scikit-learn estimator or pipeline)",
        )
    y = np.asarray(data.y)
    classes = np.unique(y)
    if len(classes) > MAX_CLASSES:
        raise UsageError(
            data.source,
            f"{len(classes)} distinct labels exceed the gate's limit of {MAX_CLASSES}",
            "gate a classifier; regression targets are not supported",
        )
    predicted = _call(model, "predict", data, described_as)
    correct = _same_labels(predicted, y)
    recalls = {_key(c): float(correct[y == c].mean()) for c in classes}
    log_loss = ece = None
    if callable(getattr(model, "predict_proba", None)):
        log_loss, ece = _probability_metrics(model, data, y, n_bins, described_as)
    return GateMetrics(
        accuracy=float(correct.mean()),
        balanced_accuracy=float(np.mean(list(recalls.values()))),
        per_class_recall=recalls,
        log_loss=log_loss,
        ece=ece,
        n_samples=data.n_samples,
        model=described_as,
        data=data.source,
    )


def _call(model: Any, method: str, data: Dataset, described_as: str) -> npt.NDArray[Any]:
    # A model that breaks on this data is an input problem (wrong columns, wrong model).
    try:
        out = np.asarray(getattr(model, method)(data.X))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise UsageError(
            described_as or data.source,
            f"{method}() failed on {data.source} ({type(exc).__name__}: {str(exc)[:200]})",
            "pass held-out data with the columns the model was trained on (--feature)",
        ) from None
    if out.shape[0] != data.n_samples:
        raise UsageError(
            described_as or data.source,
            f"{method}() returned {out.shape[0]} rows for {data.n_samples} samples",
            "pass a classifier that predicts one label per row",
        )
    return out


def _same_labels(predicted: npt.NDArray[Any], y: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    # Labels read from a table may be text while the model predicts numbers (or the
    # reverse); compare as text when the kinds differ, so 1, 1.0 and "1" agree.
    if predicted.dtype.kind != y.dtype.kind:
        return np.asarray([_key(p) == _key(t) for p, t in zip(predicted, y, strict=True)])
    return np.asarray(predicted == y, dtype=bool)


def _key(label: Any) -> str:
    value = label.item() if hasattr(label, "item") else label
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _probability_metrics(
    model: Any, data: Dataset, y: npt.NDArray[Any], n_bins: int, described_as: str
) -> tuple[float, float]:
    """Log loss and expected calibration error from ``predict_proba``."""
    probs = _call(model, "predict_proba", data, described_as).astype(np.float64)
    model_classes = getattr(model, "classes_", None)
    if probs.ndim != 2 or model_classes is None or probs.shape[1] != len(model_classes):
        raise UsageError(
            described_as or data.source,
            "predict_proba() does not give one column per class in classes_",
            "pass a fitted scikit-learn classifier",
        )
    column = {_key(c): i for i, c in enumerate(model_classes)}
    rows = np.arange(len(y))
    index = np.array([column.get(_key(t), -1) for t in y])
    # A label the model never saw gets the floor probability: the worst possible score.
    p_true = np.where(index >= 0, probs[rows, np.maximum(index, 0)], 0.0)
    log_loss = float(-np.mean(np.log(np.clip(p_true, _PROBABILITY_FLOOR, 1.0))))
    confidence = probs.max(axis=1)
    hit = probs.argmax(axis=1) == index
    return log_loss, expected_calibration_error(confidence, hit, n_bins)


def expected_calibration_error(
    confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], n_bins: int = 10
) -> float:
    """ECE of top-label ``confidence`` against ``correct`` over ``n_bins`` equal bins."""
    if n_bins < 1 or len(confidence) == 0:
        raise ValueError("need at least one bin and one sample")
    # Bin i holds confidences in (i/n, (i+1)/n]; a confidence of exactly 0 joins bin 0.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        gap = abs(float(correct[members].mean()) - float(confidence[members].mean()))
        total += gap * members.sum() / len(confidence)
    return total


# -- the metrics file -----------------------------------------------------------------------


def write_metrics(path: Path, metrics: GateMetrics) -> None:
    """Write the metrics file atomically: the next gate reads the old or the new, never half."""
    from mlwarden.store.atomic_file import write_atomically

    write_atomically(path, metrics.to_json().encode("utf-8"), mode=0o644)


def read_metrics(path: str | Path) -> GateMetrics:
    """Read a metrics file written by :func:`write_metrics`; :class:`UsageError` naming the
    file, the problem and the fix for anything else."""
    where = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_METRICS_BYTES + 1)
    except OSError as exc:
        raise UsageError(where, f"cannot be read ({exc.strerror})", "check the path") from None
    if len(raw) > MAX_METRICS_BYTES:
        raise UsageError(where, "is larger than 1 MiB, too large for a metrics file", _FIX)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UsageError(where, f"is not valid JSON ({problem})", _FIX) from None
    return _from_document(doc, where)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a metrics file may hold")


def _from_document(doc: object, where: str) -> GateMetrics:
    if not isinstance(doc, dict):
        raise UsageError(where, "is not a JSON object", _FIX)
    if doc.get("format") != FORMAT:
        raise UsageError(where, f"has format {doc.get('format')!r}, expected {FORMAT!r}", _FIX)
    scores = doc.get("metrics")
    recalls = doc.get("per_class_recall")
    if not isinstance(scores, dict) or not isinstance(recalls, dict):
        raise UsageError(where, "needs the objects `metrics` and `per_class_recall`", _FIX)
    if len(recalls) > MAX_CLASSES:
        raise UsageError(where, f"lists more than {MAX_CLASSES} classes", _FIX)
    n_samples = doc.get("n_samples", 0)
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 0:
        raise UsageError(where, "`n_samples` must be a non-negative integer", _FIX)
    digest = doc.get("data_sha256")
    if digest is not None and not (isinstance(digest, str) and len(digest) == 64):
        raise UsageError(where, "`data_sha256` must be a hex SHA-256 or null", _FIX)
    return GateMetrics(
        accuracy=_required(scores, "accuracy", where, "metrics"),
        balanced_accuracy=_required(scores, "balanced_accuracy", where, "metrics"),
        per_class_recall={k: _required(recalls, k, where, "per_class_recall") for k in recalls},
        log_loss=_optional(scores, "log_loss", where, "metrics", upper=None),
        ece=_optional(scores, "ece", where, "metrics"),
        n_samples=n_samples,
        model=_text(doc, "model", where),
        data=_text(doc, "data", where),
        data_sha256=digest,
    )


def _required(table: Mapping[str, Any], key: str, where: str, section: str) -> float:
    value = _optional(table, key, where, section)
    if value is None:
        raise UsageError(where, f"`{section}` has no `{key}`", _FIX)
    return value


def _optional(
    table: Mapping[str, Any], key: str, where: str, section: str, *, upper: float | None = 1.0
) -> float | None:
    """``table[key]`` as a finite number in [0, upper] (no upper bound when None)."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(where, f"`{section}.{key}` is not a finite number", _FIX)
    if value < 0 or (upper is not None and value > upper):
        bounds = "at least 0" if upper is None else f"between 0 and {upper:g}"
        raise UsageError(where, f"`{section}.{key}` is {value!r}; it must be {bounds}", _FIX)
    return float(value)


def _text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or len(value) > 4096:
        raise UsageError(where, f"`{key}` must be a short string", _FIX)
    return value
