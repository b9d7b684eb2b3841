"""Generated data with planted shifts for the monitor tests."""

from __future__ import annotations

import numpy as np
import pytest

from mlwarden.ml.base import Dataset
from mlwarden.monitor import ReferenceProfile

D = 6


def sample(
    rng: np.random.Generator,
    n: int,
    *,
    mean: float = 0.0,
    scale: float = 1.0,
    rho: float = 0.0,
    colours: tuple[float, float, float] = (0.5, 0.3, 0.2),
) -> Dataset:
    """Numeric features f0..f5 (f0 shifted by ``mean``, f1 scaled by ``scale``, f2/f3 with
    correlation ``rho``) plus a categorical ``colour``."""
    z = rng.standard_normal((n, D))
    z[:, 3] = rho * z[:, 2] + np.sqrt(1 - rho**2) * z[:, 3]
    z[:, 0] += mean
    z[:, 1] *= scale
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), size=n, p=colours)
    X = np.empty((n, D + 1), dtype=object)
    X[:, :D] = z
    X[:, D] = colour
    names = (*(f"f{i}" for i in range(D)), "colour")
    return Dataset(X=X, feature_names=names, source="window.csv")


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return ReferenceProfile.fit(sample(np.random.default_rng(7), 10_000), random_state=0)


@pytest.fixture
def make_window() -> object:
    return sample
