"""Size limits and input validation shared by the label-error and data-integrity checks.

Every check refuses inputs beyond these bounds with a :class:`UsageError` naming the
limit, rather than running out of memory or time on a hostile or mistaken input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset

MAX_SAMPLES = 200_000
"""Rows accepted by one check run."""
MAX_FEATURES = 10_000
"""Columns (flattened) accepted by one check run."""
MAX_CELLS = 50_000_000
"""Rows x columns accepted by one check run (about 400 MB as float64)."""
MAX_CLASSES = 1_000
"""Distinct labels accepted by the classification checks."""


def check_size(data: Dataset, check: str) -> None:
    """Refuse a dataset beyond the documented bounds."""
    n = data.n_samples
    d = int(np.prod(data.X.shape[1:]))
    if n > MAX_SAMPLES:
        raise UsageError(
            data.source,
            f"{n} rows exceed the {check} check's limit of {MAX_SAMPLES}",
            "check a random sample of the rows, or split the data and check each part",
        )
    if d > MAX_FEATURES:
        raise UsageError(
            data.source,
            f"{d} feature columns exceed the {check} check's limit of {MAX_FEATURES}",
            "reduce the features first (e.g. an embedding or PCA) and check those",
        )
    if n * d > MAX_CELLS:
        raise UsageError(
            data.source,
            f"{n} x {d} cells exceed the {check} check's limit of {MAX_CELLS}",
            "check a random sample of the rows or fewer feature columns",
        )


def numeric_matrix(
    data: Dataset, check: str, *, allow_nonfinite: bool = False
) -> npt.NDArray[np.float64]:
    """``data.X`` flattened to float64, refusing text and (unless allowed) NaN or inf."""
    check_size(data, check)
    try:
        matrix = np.asarray(data.flat(), dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(
            data.source,
            f"the {check} check needs numeric features, got dtype {data.X.dtype}",
            "encode categorical columns as numbers (one-hot or ordinal) before the check",
        ) from None
    if not allow_nonfinite and not np.isfinite(matrix).all():
        bad = int((~np.isfinite(matrix)).any(axis=1).sum())
        raise UsageError(
            data.source,
            f"{bad} rows hold NaN or infinite values, which the {check} check cannot use",
            "impute or drop those rows first (the schema check counts them per column)",
        )
    return matrix


def encoded_labels(
    data: Dataset, check: str, *, min_per_class: int = 1
) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """The distinct labels (sorted) and each row's label as an index into them."""
    if data.y is None:
        raise UsageError(
            data.source,
            f"the {check} check needs labels and none were given",
            "pass the label column (Dataset(y=...) or --label COL)",
        )
    y = np.asarray(data.y)
    if y.ndim != 1:
        raise UsageError(
            data.source,
            f"labels must be one value per row, got shape {y.shape}",
            "pass class labels, not one-hot or multi-label targets",
        )
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        raise UsageError(
            data.source,
            "labels mix types that cannot be compared",
            "convert every label to one type (e.g. str) before the check",
        ) from None
    if len(classes) > MAX_CLASSES:
        raise UsageError(
            data.source,
            f"{len(classes)} distinct labels exceed the {check} check's limit of {MAX_CLASSES}",
            "check a classification target; regression targets are not supported",
        )
    counts = np.bincount(codes, minlength=len(classes))
    if counts.min() < min_per_class:
        rare = classes[int(np.argmin(counts))]
        raise UsageError(
            data.source,
            f"label {rare!r} has {int(counts.min())} rows; the {check} check needs at least "
            f"{min_per_class} per label",
            "drop or merge the rare labels, or lower cv_folds",
        )
    return classes, codes.astype(np.intp)
