"""Penultimate-layer representations of a model, for checks that look inside it.

Backdoor detectors compare samples in the space the model itself uses to decide: the input
of its final linear layer. This module extracts that space from a PyTorch ``nn.Module`` (a
forward hook on the last ``nn.Linear``) or a scikit-learn ``Pipeline`` (every step but the
final estimator). Nothing is loaded from disk here; the model arrives already loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError

MAX_BATCH = 4096
"""Largest batch passed to a PyTorch model at once (memory bound, not a result bound)."""


def penultimate_features(
    model: Any, X: npt.NDArray[Any], *, batch_size: int = 512
) -> npt.NDArray[np.float64]:
    """Return the representation ``model`` feeds to its final layer for every row of ``X``.

    ``model`` is a PyTorch ``nn.Module`` whose last ``nn.Linear`` (in registration order)
    is the classifier head, or a scikit-learn ``Pipeline`` with at least one transformer
    before the final estimator. ``X`` is passed to the model as it is (images keep their
    shape). Raises ``UsageError`` for any other model or when the model cannot take ``X``.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise UsageError(
            "batch_size", f"{batch_size} is outside 1..{MAX_BATCH}", "pick a smaller batch"
        )
    if _is_torch_module(model):
        return _torch_features(model, X, batch_size)
    if hasattr(model, "steps") and hasattr(model, "__getitem__"):
        return _pipeline_features(model, X)
    raise UsageError(
        "model",
        f"{type(model).__name__} is neither a PyTorch nn.Module nor a scikit-learn Pipeline",
        "pass a supported model, or precomputed features (features=...) in the configuration",
    )


def _is_torch_module(model: Any) -> bool:
    # torch is optional: import it only when the object plausibly comes from it.
    if not type(model).__module__.startswith("torch") and not hasattr(model, "named_modules"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def _torch_features(model: Any, X: npt.NDArray[Any], batch_size: int) -> npt.NDArray[np.float64]:
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise UsageError(
            "model",
            "the PyTorch model has no nn.Linear layer to take the penultimate representation from",
            "pass precomputed features (features=...) in the configuration",
        )
    head = linears[-1]
    captured: list[Any] = []

    def hook(_module: Any, inputs: tuple[Any, ...]) -> None:
        captured.append(inputs[0].detach().reshape(inputs[0].shape[0], -1).to(torch.float64))

    handle = head.register_forward_pre_hook(hook)
    was_training = model.training
    model.eval()  # dropout and batch-norm statistics must not move while we look
    try:
        param = next(model.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                batch = torch.as_tensor(np.ascontiguousarray(X[start : start + batch_size]))
                model(batch.to(dtype))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise UsageError(
            "model",
            f"the model cannot run on data of shape {X.shape}: {exc}",
            "reshape the data to what the model expects",
        ) from exc
    finally:
        handle.remove()
        model.train(was_training)
    if not captured:
        raise UsageError(
            "model",
            "the last nn.Linear layer was never called in the forward pass",
            "pass precomputed features (features=...) in the configuration",
        )
    return np.asarray(torch.cat(captured).numpy(), dtype=np.float64)


def _pipeline_features(model: Any, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    if len(model.steps) < 2:
        raise UsageError(
            "model",
            "the scikit-learn pipeline has no transformer before its final estimator",
            "pass precomputed features (features=...) in the configuration",
        )
    try:
        out = model[:-1].transform(X.reshape(X.shape[0], -1))
    except Exception as exc:  # any estimator error means the data does not fit the model
        raise UsageError(
            "model", f"the pipeline cannot transform the data: {exc}", "check the data's columns"
        ) from exc
    if hasattr(out, "toarray"):
        out = out.toarray()
    return np.asarray(out, dtype=np.float64).reshape(X.shape[0], -1)
