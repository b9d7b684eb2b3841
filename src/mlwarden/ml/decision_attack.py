"""A compact, batched HopSkipJump attack (Chen, Jordan & Wainwright, 2020) for any classifier.

Only hard-label predictions are used, so it applies to models without gradients (trees,
SVMs, pipelines). All samples are attacked in lock-step so that every model call
evaluates one large batch; the query budget per sample is bounded.

The attack looks for the *smallest* perturbation that changes the prediction, which gives
the whole robust-accuracy curve from one run: a sample is robust at ``epsilon`` when the
smallest adversarial perturbation found is larger than ``epsilon``. Because the search
is approximate, the curve is an upper bound on the true robust accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Predict = Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]]
Norm = Literal["inf", "2"]

_TINY = 1e-12


@dataclass(frozen=True)
class HopSkipJump:
    """Configuration of the untargeted attack.

    ``iterations`` bounds the outer loop, ``gradient_queries`` the queries of the first
    gradient estimate (grown by ``sqrt(iteration)`` as in the paper, capped at 4x),
    ``max_queries`` the total queries per sample.
    """

    norm: Norm = "2"
    iterations: int = 20
    gradient_queries: int = 50
    binary_steps: int = 12
    step_search: int = 8
    max_queries: int = 5000
    random_state: int = 0


def _distance(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], norm: Norm) -> Any:
    diff = (a - b).reshape(len(a), -1)
    if norm == "inf":
        return np.abs(diff).max(axis=1)
    return np.linalg.norm(diff, axis=1)


def _blend(
    x0: npt.NDArray[np.float64], x1: npt.NDArray[np.float64], alpha: Any, norm: Norm
) -> npt.NDArray[np.float64]:
    """A point ``alpha`` of the way from ``x0`` (0) to ``x1`` (1), per row.

    For L-inf the paper projects onto the L-inf ball around ``x0`` (a clip) instead of
    interpolating, so the binary search works in that norm's geometry.
    """
    a = np.asarray(alpha, dtype=np.float64).reshape(-1, 1)
    if norm == "inf":
        radius = a * np.abs(x1 - x0).max(axis=1, keepdims=True)
        return np.clip(x1, x0 - radius, x0 + radius)
    return (1 - a) * x0 + a * x1


class _Queries:
    """Counts queries per sample and tells adversarial points from the rest."""

    def __init__(self, predict: Predict, labels: npt.NDArray[Any]) -> None:
        self._predict = predict
        self._labels = labels
        self.used = np.zeros(len(labels), dtype=np.int64)

    def adversarial(self, points: npt.NDArray[np.float64], owners: npt.NDArray[np.intp]) -> Any:
        if len(points) == 0:
            return np.zeros(0, dtype=bool)
        np.add.at(self.used, owners, 1)
        return np.asarray(self._predict(points)) != self._labels[owners]


def _binary_search(
    q: _Queries,
    x0: npt.NDArray[np.float64],
    adv: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp],
    steps: int,
    norm: Norm,
) -> npt.NDArray[np.float64]:
    """Move each adversarial point of ``rows`` as close to the boundary as ``steps`` allow."""
    lo = np.zeros(len(rows))
    hi = np.ones(len(rows))
    for _ in range(steps):
        mid = (lo + hi) / 2
        is_adv = q.adversarial(_blend(x0[rows], adv[rows], mid, norm), rows)
        hi = np.where(is_adv, mid, hi)
        lo = np.where(is_adv, lo, mid)
    out = adv.copy()
    out[rows] = _blend(x0[rows], adv[rows], hi, norm)
    return out


def _starting_points(
    q: _Queries,
    x0: npt.NDArray[np.float64],
    pool: npt.NDArray[np.float64],
    pool_pred: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    bounds: tuple[float, float],
    rng: np.random.Generator,
    norm: Norm,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """An adversarial start per sample: the nearest pool point predicted as another class,
    else uniform noise in the data range (a few tries)."""
    start = x0.copy()
    found = np.zeros(len(x0), dtype=bool)
    for i in range(len(x0)):
        other = np.flatnonzero(pool_pred != labels[i])
        if len(other):
            d = _distance(pool[other], np.broadcast_to(x0[i], pool[other].shape), norm)
            start[i] = pool[other[int(np.argmin(d))]]
            found[i] = True
    for _ in range(10):
        rows = np.flatnonzero(~found)
        if len(rows) == 0:
            break
        noise = rng.uniform(bounds[0], bounds[1], size=(len(rows), x0.shape[1]))
        hit = q.adversarial(noise, rows)
        start[rows[hit]] = noise[hit]
        found[rows[hit]] = True
    return start, found


def minimal_perturbations(
    predict: Predict,
    X: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    bounds: tuple[float, float],
    attack: HopSkipJump,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Smallest adversarial perturbation found per sample, and the queries spent.

    ``predict`` maps a 2-D float matrix to labels; ``labels`` are the labels to move away
    from (usually the model's own predictions). The distance is ``inf`` where no
    adversarial point was found and ``0`` where the sample is already misclassified.
    """
    x0 = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    n, d = x0.shape
    rng = np.random.default_rng(attack.random_state)
    q = _Queries(predict, np.asarray(labels))
    dist = np.full(n, np.inf)
    if n == 0:
        return dist, q.used
    clean_adv = q.adversarial(x0, np.arange(n))
    dist[clean_adv] = 0.0
    adv, found = _starting_points(
        q, x0, x0, np.asarray(predict(x0)), q._labels, bounds, rng, attack.norm
    )
    active = np.flatnonzero(found & ~clean_adv)
    if len(active) == 0:
        return dist, q.used
    adv = _binary_search(q, x0, adv, active, attack.binary_steps, attack.norm)
    dist[active] = _distance(adv[active], x0[active], attack.norm)
    # The binary-search tolerance; the paper ties the probe radius delta to it.
    theta = 1.0 / (d * 2.0**attack.binary_steps if attack.norm == "inf" else np.sqrt(d) * d)
    for t in range(1, attack.iterations + 1):
        active = active[q.used[active] < attack.max_queries]
        if len(active) == 0:
            break
        m = len(active)
        b = int(min(attack.gradient_queries * np.sqrt(t), 4 * attack.gradient_queries))
        cur = dist[active]
        delta = (d * theta * cur if attack.norm == "inf" else np.sqrt(d) * theta * cur).reshape(
            m, 1, 1
        )
        # Monte-Carlo estimate of the boundary's normal at each current point.
        if attack.norm == "inf":
            u = rng.uniform(-1.0, 1.0, size=(m, b, d))
        else:
            u = rng.standard_normal(size=(m, b, d))
        u /= np.linalg.norm(u, axis=2, keepdims=True) + _TINY
        probes = np.clip(adv[active][:, None, :] + delta * u, bounds[0], bounds[1])
        u = (probes - adv[active][:, None, :]) / np.maximum(delta, _TINY)
        owners = np.repeat(active, b)
        phi = np.where(q.adversarial(probes.reshape(m * b, d), owners), 1.0, -1.0).reshape(m, b)
        mean = phi.mean(axis=1, keepdims=True)
        # Baseline subtraction lowers the variance, except when all probes agree.
        centred = np.where(np.abs(mean) == 1.0, phi, phi - mean)
        grad = (centred[:, :, None] * u).mean(axis=1)
        if attack.norm == "inf":
            direction = np.sign(grad)
        else:
            direction = grad / (np.linalg.norm(grad, axis=1, keepdims=True) + _TINY)
        # Geometric step-size search: halve until the stepped point is adversarial.
        step = (cur / np.sqrt(t)).reshape(m, 1)
        moved = adv[active].copy()
        pending = np.ones(m, dtype=bool)
        for _ in range(attack.step_search):
            idx = np.flatnonzero(pending)
            if len(idx) == 0:
                break
            cand = np.clip(adv[active[idx]] + step[idx] * direction[idx], bounds[0], bounds[1])
            ok = q.adversarial(cand, active[idx])
            moved[idx[ok]] = cand[ok]
            pending[idx[ok]] = False
            step[idx[~ok]] /= 2
        trial = adv.copy()
        trial[active] = moved
        trial = _binary_search(q, x0, trial, active, attack.binary_steps, attack.norm)
        new = _distance(trial[active], x0[active], attack.norm)
        better = new < dist[active]
        adv[active[better]] = trial[active[better]]
        dist[active[better]] = new[better]
    return dist, q.used
