"""STRIP (Gao et al., 2019): spot trojaned inputs at serving time.

Superimposing an input on random clean inputs destroys its content, so a clean model's
predictions on the blends are spread over classes (high entropy). A backdoor trigger
survives the blend and keeps forcing the target class: the entropy stays low.

Calibrate once on clean held-out data, then score live inputs::

    detector = StripDetector.fit(model, X_clean, false_rejection_rate=0.01)
    suspicious = detector.flags(batch)      # boolean per input
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_OVERLAYS = 256
MAX_POOL = 4096


def strip_entropy(
    model: Any,
    X: npt.NDArray[Any],
    pool: npt.NDArray[Any],
    *,
    overlays: int = 32,
    alpha: float = 0.5,
    random_state: int = 0,
    batch_size: int = 4096,
) -> npt.NDArray[np.float64]:
    """Mean prediction entropy (nats) of each input of ``X`` blended with random ``pool`` inputs.

    ``model`` is a PyTorch module returning logits; a blend is
    ``alpha * x + (1 - alpha) * pool_sample``. Lower entropy means a stronger suspicion.
    """
    import torch

    if not 1 <= overlays <= MAX_OVERLAYS:
        raise ValueError(f"overlays must be 1..{MAX_OVERLAYS}")
    if len(pool) == 0:
        raise ValueError("the clean pool is empty")
    rng = np.random.default_rng(random_state)
    Xf = np.asarray(X, dtype=np.float32)
    pool_f = np.asarray(pool, dtype=np.float32)
    picks = rng.integers(0, len(pool_f), size=(len(Xf), overlays))
    entropies = np.empty(len(Xf))
    per_batch = max(1, batch_size // overlays)
    was_training = bool(model.training)
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(Xf), per_batch):
                xb = Xf[start : start + per_batch]
                blends = alpha * xb[:, None] + (1 - alpha) * pool_f[picks[start : start + len(xb)]]
                logits = model(torch.as_tensor(blends.reshape((-1, *Xf.shape[1:]))))
                logp = torch.log_softmax(logits, dim=1)
                h = -(logp.exp() * logp).sum(dim=1).reshape(len(xb), overlays)
                entropies[start : start + len(xb)] = h.mean(dim=1).numpy()
    finally:
        model.train(was_training)
    return entropies


@dataclass(frozen=True)
class StripDetector:
    """A calibrated STRIP test; build it with :meth:`fit`, then call :meth:`flags`."""

    model: Any
    pool: npt.NDArray[Any]
    """Clean inputs blended into each scored input."""
    threshold: float
    """Entropy below which an input is flagged."""
    overlays: int = 32
    alpha: float = 0.5
    random_state: int = 0

    @classmethod
    def fit(
        cls,
        model: Any,
        clean: npt.NDArray[Any],
        *,
        false_rejection_rate: float = 0.01,
        overlays: int = 32,
        alpha: float = 0.5,
        random_state: int = 0,
    ) -> StripDetector:
        """Calibrate on ``clean`` inputs so that about ``false_rejection_rate`` of clean
        inputs are flagged (the threshold is that quantile of their entropies)."""
        if not 0 < false_rejection_rate < 1:
            raise ValueError("false_rejection_rate must be in (0, 1)")
        if len(clean) < 10:
            raise ValueError("need at least 10 clean inputs to calibrate STRIP")
        pool = np.asarray(clean[:MAX_POOL])
        h = strip_entropy(
            model, pool, pool, overlays=overlays, alpha=alpha, random_state=random_state
        )
        threshold = float(np.quantile(h, false_rejection_rate))
        return cls(model, pool, threshold, overlays, alpha, random_state)

    def entropy(self, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """STRIP entropy of each input (lower = more likely trojaned)."""
        return strip_entropy(
            self.model,
            X,
            self.pool,
            overlays=self.overlays,
            alpha=self.alpha,
            random_state=self.random_state,
        )

    def flags(self, X: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        """True for each input whose entropy is below the calibrated threshold."""
        return self.entropy(X) < self.threshold
