"""Reading one column of a :class:`~mlwarden.ml.base.Dataset` as numbers or as categories."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

MISSING = "<missing>"
"""Category label of a missing value (None or NaN) in a categorical column."""
OTHER = "<other>"
"""Category label of values the reference saw rarely or never."""
MAX_LABEL_CHARS = 200
"""Category labels are cut to this length, so one huge cell cannot bloat a profile."""


def as_numbers(values: npt.NDArray[Any]) -> npt.NDArray[np.float64] | None:
    """``values`` as float64 (missing values as NaN), or None if some value is not a number.

    Booleans count as categories, not numbers: their frequencies are what matters.
    """
    if values.dtype.kind == "b":
        return None
    if values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if np.isinf(numbers).any():
        return None
    return numbers


def as_labels(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """``values`` as short strings; None and NaN become :data:`MISSING`."""
    out = np.empty(values.shape[0], dtype=object)
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and value != value):
            out[i] = MISSING
        else:
            out[i] = str(value)[:MAX_LABEL_CHARS]
    return out.astype(str)


def count_labels(
    labels: npt.NDArray[np.str_], categories: tuple[str, ...]
) -> npt.NDArray[np.float64]:
    """Counts of ``labels`` per category, with a last bucket for everything else."""
    index = {name: i for i, name in enumerate(categories)}
    other = len(categories)
    uniques, counts = np.unique(labels, return_counts=True)
    out = np.zeros(len(categories) + 1)
    for name, count in zip(uniques.tolist(), counts.tolist(), strict=True):
        out[index.get(name, other)] += count
    return out
