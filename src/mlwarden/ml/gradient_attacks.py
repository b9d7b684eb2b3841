"""Batched white-box evasion attacks (FGSM, PGD) on PyTorch classifiers.

Both attacks maximise the cross-entropy of the model's logits against the given labels
inside an L-inf or L2 ball of radius ``epsilon`` and clip every adversarial input to the
data range. They only read the model (its parameters receive no gradient and its
train/eval mode is restored), so a caller can attack a model it is serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Norm = Literal["inf", "2"]

# Guards the division when a gradient (or a perturbation) is exactly zero.
_TINY = 1e-12


@dataclass(frozen=True)
class GradientAttack:
    """One attack configuration.

    ``steps == 0`` is FGSM (one signed-gradient step of size ``epsilon``); ``steps > 0`` is
    PGD with ``steps`` iterations of size ``step_size`` (default ``2.5 * epsilon / steps``,
    as in Madry et al.), optionally from a uniform random start inside the ball.
    """

    norm: Norm = "inf"
    steps: int = 0
    step_size: float | None = None
    random_start: bool = True
    batch_size: int = 256


def _flat_norm(t: Any) -> Any:
    import torch

    return torch.linalg.vector_norm(t.reshape(t.shape[0], -1), dim=1).clamp_min(_TINY)


def _broadcast(per_row: Any, like: Any) -> Any:
    return per_row.reshape((-1,) + (1,) * (like.dim() - 1))


def _direction(grad: Any, norm: Norm) -> Any:
    """The steepest-ascent unit direction for the norm (sign for L-inf, normalised for L2)."""
    import torch

    if norm == "inf":
        return torch.sign(grad)
    return grad / _broadcast(_flat_norm(grad), grad)


def _project(delta: Any, epsilon: float, norm: Norm) -> Any:
    import torch

    if norm == "inf":
        return torch.clamp(delta, -epsilon, epsilon)
    factor = torch.clamp(epsilon / _flat_norm(delta), max=1.0)
    return delta * _broadcast(factor, delta)


def _random_start(x: Any, epsilon: float, norm: Norm, generator: Any) -> Any:
    import torch

    if norm == "inf":
        return (torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1) * epsilon
    # Uniform in the L2 ball: a Gaussian direction and a radius distributed as u^(1/d).
    direction = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    direction = direction / _broadcast(_flat_norm(direction), x)
    d = x[0].numel()
    radius = torch.rand((x.shape[0],), generator=generator, dtype=x.dtype) ** (1.0 / d)
    return direction * _broadcast(radius * epsilon, x)


def _loss_gradient(model: Any, x: Any, y: Any) -> Any:
    import torch
    import torch.nn.functional as F

    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def _attack_batch(
    model: Any,
    x: Any,
    y: Any,
    epsilon: float,
    attack: GradientAttack,
    bounds: tuple[float, float],
    generator: Any,
) -> Any:
    import torch

    lo, hi = bounds
    if epsilon <= 0:
        return x
    if attack.steps == 0:
        grad = _loss_gradient(model, x, y)
        return torch.clamp(x + epsilon * _direction(grad, attack.norm), lo, hi)
    step = attack.step_size if attack.step_size is not None else 2.5 * epsilon / attack.steps
    delta = torch.zeros_like(x)
    if attack.random_start:
        delta = _random_start(x, epsilon, attack.norm, generator)
    x_adv = torch.clamp(x + delta, lo, hi)
    for _ in range(attack.steps):
        grad = _loss_gradient(model, x_adv, y)
        x_adv = torch.clamp(x_adv + step * _direction(grad, attack.norm), lo, hi)
        x_adv = torch.clamp(x + _project(x_adv - x, epsilon, attack.norm), lo, hi)
    return x_adv.detach()


def adversarial_examples(
    model: Any,
    X: npt.NDArray[Any],
    y: npt.NDArray[np.int64],
    epsilon: float,
    attack: GradientAttack,
    bounds: tuple[float, float],
    random_state: int = 0,
) -> npt.NDArray[np.float32]:
    """Adversarial versions of ``X`` for the PyTorch module ``model`` (logits out).

    ``y`` holds class indices (the loss is maximised against them); ``bounds`` is the valid
    data range. The result has ``X``'s shape and dtype float32 and is deterministic for a
    given ``random_state``.
    """
    import torch

    generator = torch.Generator().manual_seed(random_state)
    was_training = bool(model.training)
    model.eval()
    out: list[npt.NDArray[np.float32]] = []
    try:
        for start in range(0, len(X), attack.batch_size):
            xb = torch.as_tensor(np.asarray(X[start : start + attack.batch_size], np.float32))
            yb = torch.as_tensor(y[start : start + attack.batch_size], dtype=torch.long)
            adv = _attack_batch(model, xb, yb, epsilon, attack, bounds, generator)
            out.append(adv.detach().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.empty_like(X, dtype=np.float32)


def predict_classes(model: Any, X: npt.NDArray[Any], batch_size: int = 1024) -> npt.NDArray[Any]:
    """Arg-max class indices of the PyTorch module ``model`` on ``X`` (no gradients)."""
    import torch

    was_training = bool(model.training)
    model.eval()
    preds: list[npt.NDArray[Any]] = []
    try:
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                xb = torch.as_tensor(np.asarray(X[start : start + batch_size], np.float32))
                preds.append(model(xb).argmax(dim=1).numpy())
    finally:
        model.train(was_training)
    return np.concatenate(preds) if preds else np.empty(0, dtype=np.int64)
