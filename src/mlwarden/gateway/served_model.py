"""Loading a model to serve without ever running code from its file.

* ``sklearn``: :func:`mlwarden.safe_load` scans the file and unpickles it with an unpickler
  that imports only allowlisted scikit-learn, NumPy and SciPy callables.
* ``torch``: the file must be a ``state_dict``; ``safe_load`` reads it with torch's
  weights-only loader (no other path here loads it) and the weights go into a network built from the
  declared architecture (:mod:`mlwarden.gateway.torch_arch`), with every key and shape
  matching.
* ``onnx``: scanned by mlwarden, then run by ONNX Runtime
  (:mod:`mlwarden.gateway.onnx_runner`).

Every loaded model is tried once on an all-zero row, so a model that cannot answer
requests of its schema's shape is refused at load time rather than on the first request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UnsafeModelError, UsageError
from mlwarden.gateway.input_schema import InputSchema
from mlwarden.gateway.prediction import Label, Prediction, label_list
from mlwarden.gateway.tensor_schema import TensorSchema
from mlwarden.gateway.torch_arch import build_module

__all__ = ["FRAMEWORKS", "Prediction", "ServedModel", "load_served_model"]

FRAMEWORKS = ("sklearn", "torch", "onnx")
Predictor = Callable[[npt.NDArray[Any]], Prediction]


class ServedModel:
    """A loaded model and its identity; :meth:`predict` is safe to call from many threads."""

    def __init__(
        self,
        *,
        name: str,
        version: int,
        digest: str,
        framework: str,
        schema: InputSchema,
        predictor: Predictor,
    ) -> None:
        self.name = name
        self.version = version
        self.digest = digest
        self.framework = framework
        self.schema = schema
        self._predictor = predictor

    def __repr__(self) -> str:
        return f"ServedModel({self.name!r}, version={self.version}, {self.framework})"

    def predict(self, x: npt.NDArray[Any]) -> Prediction:
        """Predict for rows already checked by ``schema.validate`` (shape ``(n, *row)``)."""
        if x.ndim < 1 or tuple(x.shape[1:]) != self.schema.row_shape:
            raise ValueError(f"rows of shape {x.shape[1:]}, expected {self.schema.row_shape}")
        return self._predictor(x)


def load_served_model(
    path: Path,
    *,
    framework: str,
    schema: InputSchema,
    name: str,
    version: int,
    digest: str,
    architecture: dict[str, Any] | None = None,
) -> ServedModel:
    """Load ``path`` for serving; :class:`UnsafeModelError` when its scan finds anything of
    medium severity or more, :class:`UsageError` when it does not fit the declaration."""
    if framework == "sklearn":
        predictor = _sklearn_predictor(path, schema)
    elif framework == "torch":
        predictor = _torch_predictor(path, schema, architecture)
    elif framework == "onnx":
        from mlwarden.gateway.onnx_runner import onnx_predictor

        predictor = onnx_predictor(path, schema.row_shape, architecture)
    else:
        raise UsageError("framework", f"{framework!r} cannot be served", f"use {FRAMEWORKS}")
    model = ServedModel(
        name=name,
        version=version,
        digest=digest,
        framework=framework,
        schema=schema,
        predictor=predictor,
    )
    _probe(model, path)
    return model


def _probe(model: ServedModel, path: Path) -> None:
    schema = model.schema
    dtype = schema.dtype if isinstance(schema, TensorSchema) else "float64"
    try:
        answer = model.predict(np.zeros((1, *schema.row_shape), dtype=dtype))
    except (UnsafeModelError, UsageError):
        raise
    except Exception as exc:  # any framework error: the model does not fit its schema
        raise UsageError(
            str(path),
            f"the model fails on a row of the declared input shape ({type(exc).__name__}: {exc})",
            "make the input schema match what the model was trained on",
        ) from None
    if len(answer.labels) != 1:
        raise UsageError(str(path), "the model gave no single answer per row", "check the model")


def _safe_load(path: Path) -> Any:
    from mlwarden.loading import safe_load

    return safe_load(str(path))


def _sklearn_predictor(path: Path, schema: InputSchema) -> Predictor:
    model = _safe_load(path)
    if not callable(getattr(model, "predict", None)):
        raise UsageError(
            str(path),
            f"holds a {type(model).__name__}, not an estimator with predict()",
            "save the fitted estimator itself (joblib.dump(model, path))",
        )
    expected = getattr(model, "n_features_in_", None)
    width = int(np.prod(schema.row_shape))
    if isinstance(expected, int) and expected != width:
        raise UsageError(
            str(path),
            f"the estimator takes {expected} features, the input schema declares {width}",
            "make the input schema match the training data",
        )
    proba = getattr(model, "predict_proba", None)

    def predict(x: npt.NDArray[Any]) -> Prediction:
        rows = x.reshape(len(x), -1)
        labels = label_list(model.predict(rows))
        scores = np.asarray(proba(rows), dtype=np.float64).tolist() if proba else None
        return Prediction(labels, scores)

    return predict


def _torch_predictor(
    path: Path, schema: InputSchema, architecture: dict[str, Any] | None
) -> Predictor:
    import torch

    if architecture is None:
        raise UsageError(
            "architecture",
            "a torch model needs a declared architecture",
            "declare one such as {'arch': 'mlp', 'layers': [64, 10]}",
        )
    network = build_module(architecture, schema.row_shape)
    state = _safe_load(path)
    _check_state(path, state, network.module.state_dict())
    network.module.load_state_dict(state, strict=True)
    module = network.module.eval().requires_grad_(False)
    classes = network.classes

    def predict(x: npt.NDArray[Any]) -> Prediction:
        rows = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), *network.input_shape)
        with torch.inference_mode():
            out = module(torch.from_numpy(rows)).double()
        if out.shape[1] == 1:  # one output: a regression
            return Prediction(label_list(out[:, 0].numpy()), None)
        scores = torch.softmax(out, dim=1).numpy()
        top = scores.argmax(axis=1)
        labels: list[Label] = [classes[i] for i in top] if classes else label_list(top)
        return Prediction(labels, scores.tolist())

    return predict


def _check_state(path: Path, state: object, expected: Mapping[str, Any]) -> None:
    import torch

    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UsageError(
            str(path),
            f"holds a {type(state).__name__}, not a state_dict of tensors",
            "save model.state_dict(), not the model object",
        )
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [
        f"{k} has shape {list(state[k].shape)}, the architecture needs {list(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [f"missing {_few(missing)}"] if missing else []
    problems += [f"unexpected {_few(unexpected)}"] if unexpected else []
    problems += [_few(reshaped)] if reshaped else []
    if problems:
        raise UsageError(
            str(path),
            "the weights do not fit the declared architecture: " + "; ".join(problems),
            "save the state_dict of mlwarden.gateway.torch_arch.build_module(spec, row_shape)",
        )


def _few(items: list[str], shown: int = 4) -> str:
    more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
