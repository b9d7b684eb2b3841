"""One call shape for every data and model check (label errors, poisoning, drift, ...).

A check is configured once (a frozen dataclass of parameters, like a scikit-learn
estimator's constructor) and run on a :class:`Dataset` and optionally a model::

    result = LabelErrorCheck(max_error_rate=0.05).run(dataset)
    result.findings      # Findings, as scanners report them (rule id, severity, location)
    result.scores        # ScoreTable: one row per sample (or per feature), ranked columns
    result.metrics       # summary numbers ("error_rate": 0.031, ...)
    result.passed        # False when a configured threshold was crossed

Checks never load artifacts from disk by themselves; data readers and safe loading happen
before ``run``. ``tests/ml/test_check_contract.py`` holds every registered check to this shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mlwarden.findings import Finding, Rule


@dataclass(frozen=True)
class Dataset:
    """Samples to check: a 2-D feature matrix, optional labels, and where they came from."""

    X: npt.NDArray[Any]
    """Shape (n_samples, n_features), or (n_samples, ...) for images."""
    y: npt.NDArray[Any] | None = None
    """Shape (n_samples,): class labels (any hashable dtype) or targets."""
    feature_names: tuple[str, ...] = ()
    """Column names of ``X`` (default ``f0``, ``f1``, ...)."""
    sample_ids: npt.NDArray[Any] | None = None
    """Row identifiers reported in findings (default: 0-based row numbers)."""
    source: str = "<memory>"
    """File or table name, used as the findings' location path."""

    def __post_init__(self) -> None:
        if self.X.ndim < 2:
            raise ValueError(f"X must have at least 2 dimensions, got shape {self.X.shape}")
        n = self.X.shape[0]
        if self.y is not None and self.y.shape[0] != n:
            raise ValueError(f"y has {self.y.shape[0]} rows but X has {n}")
        if self.sample_ids is not None and len(self.sample_ids) != n:
            raise ValueError(f"sample_ids has {len(self.sample_ids)} entries but X has {n} rows")
        if self.feature_names and len(self.feature_names) != int(np.prod(self.X.shape[1:])):
            raise ValueError("feature_names must name every column of X")

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def ids(self) -> npt.NDArray[Any]:
        """Row identifiers (``sample_ids`` or row numbers)."""
        return self.sample_ids if self.sample_ids is not None else np.arange(self.n_samples)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names (given, or ``f0``, ``f1``, ...)."""
        if self.feature_names:
            return self.feature_names
        return tuple(f"f{i}" for i in range(int(np.prod(self.X.shape[1:]))))

    def flat(self) -> npt.NDArray[Any]:
        """``X`` as a 2-D matrix (images flattened)."""
        return self.X.reshape(self.n_samples, -1)


@dataclass(frozen=True)
class ScoreTable:
    """Per-sample (or per-feature) scores: named columns of equal length, plus row keys.

    ``columns["score"]`` is the check's main score (higher = more suspicious) when the
    check ranks rows; :meth:`ranked` lists rows most suspicious first.
    """

    keys: npt.NDArray[Any]
    """Row keys: sample ids, or feature names for per-feature tables."""
    columns: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, values in self.columns.items():
            if len(values) != len(self.keys):
                raise ValueError(
                    f"column {name!r} has {len(values)} rows, keys have {len(self.keys)}"
                )

    def ranked(self, column: str = "score", top: int | None = None) -> list[tuple[Any, float]]:
        """``(key, value)`` pairs ordered by ``column``, highest first."""
        values = np.asarray(self.columns[column], dtype=float)
        order = np.argsort(-values, kind="stable")
        if top is not None:
            order = order[:top]
        return [
            (
                self.keys[i].item() if hasattr(self.keys[i], "item") else self.keys[i],
                float(values[i]),
            )
            for i in order
        ]

    def to_rows(self) -> list[dict[str, Any]]:
        """JSON-ready rows (``key`` plus every column)."""
        rows: list[dict[str, Any]] = []
        for i, key in enumerate(self.keys):
            row: dict[str, Any] = {"key": key.item() if hasattr(key, "item") else key}
            for name, values in self.columns.items():
                value = values[i]
                row[name] = value.item() if hasattr(value, "item") else value
            rows.append(row)
        return rows


@dataclass(frozen=True)
class CheckResult:
    """What a check found."""

    check: str
    """The check's name (``label-errors``, ``backdoor-data``, ``drift`` ...)."""
    findings: tuple[Finding, ...]
    scores: ScoreTable
    metrics: Mapping[str, float]
    passed: bool
    """False when a configured threshold was crossed (the CLI then exits 1)."""


class Check(Protocol):
    """A configured data or model check."""

    @property
    def name(self) -> str: ...

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule the check can report."""
        ...

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Check ``data`` (and ``model`` where the check needs one). Raise
        ``mlwarden.errors.UsageError`` for unusable input (wrong shapes, too few samples,
        a model without the needed method), naming the problem and the fix."""
        ...


def as_dataset(
    X: Sequence[Any] | npt.NDArray[Any],
    y: Sequence[Any] | npt.NDArray[Any] | None = None,
    *,
    feature_names: Sequence[str] = (),
    source: str = "<memory>",
) -> Dataset:
    """Build a :class:`Dataset` from array-likes."""
    return Dataset(
        X=np.asarray(X),
        y=None if y is None else np.asarray(y),
        feature_names=tuple(feature_names),
        source=source,
    )
