"""The reference profile: what "normal" data looks like, fitted once on training data and
saved as JSON next to the model.

``ReferenceProfile.fit(dataset)`` summarises every feature (order statistics and PSI bins
for numbers, frequencies for categories), the joint distribution of the numeric features
(:mod:`mlwarden.monitor.joint_profile`) and, when given, the model's output
probabilities. The drift, out-of-distribution and output checks compare windows of live
data against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.monitor.columns import OTHER, as_labels, as_numbers
from mlwarden.monitor.joint_profile import JointProfile, fit_joint
from mlwarden.monitor.output_profile import OutputProfile, fit_outputs

FloatArray = npt.NDArray[np.float64]

MAX_REFERENCE_ROWS = 5_000_000
"""Largest reference accepted by :meth:`ReferenceProfile.fit`."""
MAX_FEATURES = 2_000
"""Most features a profile describes."""
MIN_REFERENCE_ROWS = 20
"""Fewest reference rows a useful profile needs."""


@dataclass(frozen=True)
class FeatureProfile:
    """One feature of the reference."""

    name: str
    kind: Literal["numeric", "categorical"]
    n: int
    """Non-missing values (numeric) or all values (categorical) in the reference."""
    quantiles: FloatArray = field(default_factory=lambda: np.empty(0))
    """Numeric: evenly spaced order statistics (the reference ECDF for KS)."""
    bin_edges: FloatArray = field(default_factory=lambda: np.empty(0))
    """Numeric: inner edges of the PSI bins (reference quantiles)."""
    counts: FloatArray = field(default_factory=lambda: np.empty(0))
    """Reference counts per PSI bin (numeric) or per category, last bucket ``<other>``."""
    categories: tuple[str, ...] = ()

    def bin_counts(self, numbers: FloatArray) -> FloatArray:
        """Counts of non-missing ``numbers`` per PSI bin."""
        values = numbers[~np.isnan(numbers)]
        return np.bincount(
            np.searchsorted(self.bin_edges, values, side="right"),
            minlength=self.bin_edges.shape[0] + 1,
        ).astype(np.float64)


@dataclass(frozen=True)
class ReferenceProfile:
    """A fitted reference; build with :meth:`fit`, save with :meth:`to_json`, load with
    :func:`mlwarden.monitor.profile_json.profile_from_json`."""

    features: tuple[FeatureProfile, ...]
    n_samples: int
    joint: JointProfile | None
    """None when the reference has fewer than two numeric features."""
    outputs: OutputProfile | None
    random_state: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @classmethod
    def fit(
        cls,
        data: Dataset,
        *,
        probabilities: npt.ArrayLike | None = None,
        categorical: Sequence[str] = (),
        n_quantiles: int = 1_000,
        n_bins: int = 10,
        max_categories: int = 50,
        reservoir_size: int = 2_000,
        rff_dim: int = 128,
        random_state: int = 0,
    ) -> ReferenceProfile:
        """Summarise ``data`` (the training or validation set).

        ``categorical`` names features to treat as categories even if they hold numbers
        (other non-numeric columns are categorical anyway). ``probabilities`` are the
        model's (n, n_classes) outputs on ``data``, needed for prediction-shift and
        confidence checks. Raises :class:`UsageError` for fewer than
        :data:`MIN_REFERENCE_ROWS` rows or more than :data:`MAX_REFERENCE_ROWS` rows or
        :data:`MAX_FEATURES` features.
        """
        X = data.flat()
        n, n_features = X.shape
        if n < MIN_REFERENCE_ROWS:
            raise UsageError(
                data.source,
                f"the reference has {n} rows, fewer than the {MIN_REFERENCE_ROWS} a profile needs",
                "fit the profile on the training or validation set",
            )
        if n > MAX_REFERENCE_ROWS or n_features > MAX_FEATURES:
            raise UsageError(
                data.source,
                f"the reference is {n} x {n_features}, beyond the limit of "
                f"{MAX_REFERENCE_ROWS} rows x {MAX_FEATURES} features",
                "fit on a random sample of rows or select features",
            )
        unknown = set(categorical) - set(data.names)
        if unknown:
            raise UsageError(
                "categorical",
                f"names features the data does not have: {sorted(unknown)}",
                f"use names from {list(data.names)[:10]}",
            )
        rng = np.random.default_rng(random_state)
        features: list[FeatureProfile] = []
        numeric_columns: list[int] = []
        numeric_values: list[FloatArray] = []
        for j, name in enumerate(data.names):
            numbers = None if name in categorical else as_numbers(X[:, j])
            if numbers is None:
                features.append(_fit_categorical(name, X[:, j], max_categories))
            else:
                features.append(_fit_numeric(name, numbers, n_quantiles, n_bins))
                numeric_columns.append(j)
                numeric_values.append(numbers)
        joint = None
        if len(numeric_columns) >= 2:
            joint = fit_joint(
                np.column_stack(numeric_values),
                tuple(numeric_columns),
                reservoir_size=reservoir_size,
                rff_dim=rff_dim,
                rng=rng,
            )
        outputs = None
        if probabilities is not None:
            outputs = fit_outputs(np.asarray(probabilities, dtype=np.float64), n, data.source)
        return cls(tuple(features), n, joint, outputs, random_state)

    def to_json(self) -> str:
        """The profile as JSON (see :mod:`mlwarden.monitor.profile_json`)."""
        from mlwarden.monitor.profile_json import profile_to_json

        return profile_to_json(self)


def _fit_numeric(name: str, numbers: FloatArray, n_quantiles: int, n_bins: int) -> FeatureProfile:
    values = np.sort(numbers[~np.isnan(numbers)])
    if values.shape[0] == 0:
        return FeatureProfile(name=name, kind="numeric", n=0, counts=np.zeros(1))
    if values.shape[0] > n_quantiles:
        # Order statistics at evenly spaced ranks: an ECDF within 1/n_quantiles of the
        # reference's, far below the KS distances a window of a few hundred rows can resolve.
        ranks = np.linspace(0, values.shape[0] - 1, n_quantiles).round().astype(np.int64)
        quantiles = values[ranks]
    else:
        quantiles = values
    edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))
    profile = FeatureProfile(
        name=name,
        kind="numeric",
        n=int(values.shape[0]),
        quantiles=quantiles.astype(np.float64),
        bin_edges=edges.astype(np.float64),
    )
    return FeatureProfile(**{**profile.__dict__, "counts": profile.bin_counts(values)})


def _fit_categorical(name: str, values: npt.NDArray[Any], max_categories: int) -> FeatureProfile:
    labels = as_labels(values)
    uniques, counts = np.unique(labels, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    # Categories rarer than 0.5% share one bucket: their expected counts in a window of a
    # few hundred rows are too small for the chi-squared approximation.
    floor = max(1, int(0.005 * labels.shape[0]))
    kept = [i for i in order[:max_categories] if counts[i] >= floor and uniques[i] != OTHER]
    categories = tuple(str(uniques[i]) for i in kept)
    other = float(labels.shape[0] - sum(int(counts[i]) for i in kept))
    return FeatureProfile(
        name=name,
        kind="categorical",
        n=int(labels.shape[0]),
        counts=np.array([float(counts[i]) for i in kept] + [other]),
        categories=categories,
    )
