"""Multivariate two-sample tests against a :class:`JointProfile`: they see changes in how
features relate (correlations, interactions) that per-feature tests cannot.

- **MMD** with random Fourier features: the squared distance between the reference's and
  the window's mean feature vectors. Its null distribution needs no permutations: with
  reference covariance eigenvalues ``l_i``, ``T / (1/m + 1/n)`` is asymptotically
  ``sum l_i z_i^2``, simulated once when the check is built. Cost per window: one
  (n, d) x (d, D) product.
- **Classifier two-sample test**: a ridge-regularised linear discriminant on first- and
  second-order terms (``x_i``, ``x_i^2``, ``x_i x_j``) is trained on half of the window
  against half of the reference reservoir and scored on the other halves; the held-out
  AUC's Mann-Whitney p-value is exact under the null whatever the classifier learned.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mlwarden.monitor.joint_profile import JointProfile
from mlwarden.monitor.stat_tests import auc_p_value

FloatArray = npt.NDArray[np.float64]

NULL_DRAWS = 20_000
"""Draws of the MMD null distribution (smallest p-value reported: 1/20001)."""
MAX_PAIRWISE_FEATURES = 24
"""Above this many numeric features the classifier uses no pairwise products (their
number grows with the square of the feature count)."""
MIN_C2ST_ROWS = 20


def quadratic_terms(z: FloatArray) -> FloatArray:
    """First- and second-order terms of standardised rows."""
    d = z.shape[1]
    parts = [z, z * z]
    if d <= MAX_PAIRWISE_FEATURES:
        i, j = np.triu_indices(d, k=1)
        parts.append(z[:, i] * z[:, j])
    return np.hstack(parts)


class JointTests:
    """MMD and classifier tests for one profile; build once, call per window."""

    def __init__(self, joint: JointProfile, *, random_state: int) -> None:
        self.joint = joint
        self.random_state = random_state
        rng = np.random.default_rng(random_state)
        weights = joint.eigenvalues[joint.eigenvalues > 1e-9 * max(joint.eigenvalues.max(), 1e-300)]
        # Sum of the largest eigenvalue terms, simulated; the tail of tiny ones adds its mean
        # (its variance is negligible next to the leading terms).
        head, tail = weights[:100], weights[100:]
        draws = (rng.standard_normal((NULL_DRAWS, head.shape[0])) ** 2) @ head + tail.sum()
        self._null = np.sort(draws)
        self._reservoir_terms = quadratic_terms(joint.reservoir)

    def mmd(self, z: FloatArray) -> tuple[float, float]:
        """Squared MMD estimate between the window rows ``z`` and the reference, and its
        p-value."""
        n = z.shape[0]
        gap = self.joint.embed_mean(z) - self.joint.mean_embedding
        statistic = float(gap @ gap)
        scaled = statistic / (1.0 / self.joint.n_embedding + 1.0 / n)
        exceed = NULL_DRAWS - int(np.searchsorted(self._null, scaled, side="left"))
        return statistic, (1 + exceed) / (NULL_DRAWS + 1)

    def c2st(self, z: FloatArray) -> tuple[float, float]:
        """Held-out AUC of a window-vs-reference classifier, and its p-value."""
        reference = self._reservoir_terms
        if z.shape[0] < MIN_C2ST_ROWS or reference.shape[0] < MIN_C2ST_ROWS:
            return 0.5, 1.0
        rng = np.random.default_rng(self.random_state)
        window = quadratic_terms(z)
        w_order = rng.permutation(window.shape[0])
        r_order = rng.permutation(reference.shape[0])
        w_half, r_half = window.shape[0] // 2, reference.shape[0] // 2
        w_fit, w_test = window[w_order[:w_half]], window[w_order[w_half:]]
        r_fit, r_test = reference[r_order[:r_half]], reference[r_order[r_half:]]
        direction = self._discriminant(w_fit, r_fit)
        return auc_p_value(w_test @ direction, r_test @ direction)

    @staticmethod
    def _discriminant(a: FloatArray, b: FloatArray) -> FloatArray:
        """Fisher discriminant direction separating ``a`` from ``b`` (ridge-regularised,
        since a few hundred rows estimate tens of covariances)."""
        delta = a.mean(axis=0) - b.mean(axis=0)
        centred = np.vstack((a - a.mean(axis=0), b - b.mean(axis=0)))
        pooled = centred.T @ centred / max(1, centred.shape[0] - 2)
        ridge = 0.1 * float(np.trace(pooled)) / pooled.shape[0] + 1e-9
        return np.linalg.solve(pooled + ridge * np.eye(pooled.shape[0]), delta)
