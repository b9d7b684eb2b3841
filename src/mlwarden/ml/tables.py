"""Tables on disk (CSV, TSV, JSON lines, Parquet) as :class:`~mlwarden.ml.base.Dataset`.

Numeric columns are used as they are; text columns with few distinct values are coded as
integers (categories); other text columns are refused unless excluded, because a check on
free text would silently measure nothing. Reading is bounded in rows and bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset

MAX_ROWS = 200_000
MAX_BYTES = 2 << 30
MAX_CATEGORIES = 1_000


def read_table(
    path: str | Path,
    *,
    label: str | None = None,
    features: Sequence[str] | None = None,
    id_column: str | None = None,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    """Read ``path`` into a Dataset; ``label`` names the target column."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise UsageError(str(file), "does not exist or is not a file", "check the path")
    if file.stat().st_size > MAX_BYTES:
        raise UsageError(str(file), "is larger than 2 GiB", "sample the table first")
    suffix = file.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(file)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(file, lines=True, nrows=max_rows + 1)
        else:
            sep = "\t" if suffix in (".tsv", ".tab") else None
            frame = pd.read_csv(file, sep=sep, engine="python", nrows=max_rows + 1)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            str(file), f"cannot be read as a table ({exc})", "pass CSV, TSV, JSON lines or Parquet"
        ) from None
    if len(frame) > max_rows:
        raise UsageError(str(file), f"has more than {max_rows} rows", "check a sample of the table")
    columns = list(frame.columns.astype(str))
    frame.columns = columns
    for name in [label, id_column, *(features or [])]:
        if name is not None and name not in columns:
            raise UsageError(
                str(file), f"has no column {name!r}", f"choose from: {', '.join(columns[:30])}"
            )
    y = None if label is None else _labels(frame[label].to_numpy())
    ids = None if id_column is None else frame[id_column].to_numpy()
    chosen = list(features) if features else [c for c in columns if c not in (label, id_column)]
    if not chosen:
        raise UsageError(str(file), "has no feature columns", "pass --features")
    matrix = np.column_stack([_numeric(frame[c], c, file) for c in chosen])
    return Dataset(X=matrix, y=y, feature_names=tuple(chosen), sample_ids=ids, source=str(file))


def _labels(values: Any) -> Any:
    array = np.asarray(values)
    if array.dtype.kind == "O":
        return array.astype(str)
    return array


def _numeric(column: Any, name: str, file: Path) -> Any:
    values = column.to_numpy()
    if values.dtype.kind in "biuf":
        return values.astype(float)
    if values.dtype.kind == "b":
        return values.astype(float)
    text = column.astype(str)
    distinct = text.nunique()
    if distinct <= MAX_CATEGORIES:
        codes, _ = column.astype(str).factorize(sort=True)
        return codes.astype(float)
    raise UsageError(
        str(file),
        f"column {name!r} is free text ({distinct} distinct values)",
        "exclude it with --features, or encode it first",
    )
