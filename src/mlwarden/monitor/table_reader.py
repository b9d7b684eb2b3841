"""Reading reference and live data files (CSV or Parquet) into a :class:`Dataset`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.ml.base import Dataset
from mlwarden.monitor.profile import MAX_FEATURES, MAX_REFERENCE_ROWS

MAX_FILE_BYTES = 2 * 1024**3
"""Largest data file read (the whole table is held in memory)."""


def read_table(path: str, *, max_rows: int = MAX_REFERENCE_ROWS) -> Dataset:
    """Read ``path`` (``.parquet``/``.pq`` by suffix or magic bytes, else CSV).

    Raises :class:`UsageError` when the file is missing, too large, unreadable or beyond
    ``max_rows`` rows / :data:`MAX_FEATURES` columns.
    """
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    file = Path(path)
    try:
        size = file.stat().st_size
        with file.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise UsageError(path, f"cannot open the file ({exc.strerror})", "check the path") from None
    if size > MAX_FILE_BYTES:
        raise UsageError(
            path, f"the file is {size} bytes, over {MAX_FILE_BYTES}", "pass a sample of rows"
        )
    try:
        if magic == b"PAR1" or file.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(file).metadata
            if meta.num_rows > max_rows or meta.num_columns > MAX_FEATURES:
                raise UsageError(
                    path,
                    f"{meta.num_rows} rows x {meta.num_columns} columns, over the limit of "
                    f"{max_rows} x {MAX_FEATURES}",
                    "pass a sample",
                )
            frame = pd.read_parquet(file)
        else:
            frame = pd.read_csv(file, nrows=max_rows + 1, low_memory=False)
            if len(frame) > max_rows or frame.shape[1] > MAX_FEATURES:
                raise UsageError(
                    path,
                    f"more than {max_rows} rows or {MAX_FEATURES} columns",
                    "pass a sample",
                )
    except UsageError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise UsageError(
            path, f"not a readable CSV or Parquet table ({type(exc).__name__})", "check the file"
        ) from None
    names = tuple(str(c) for c in frame.columns)
    if len(set(names)) != len(names) or not names:
        raise UsageError(path, "the header is empty or repeats a column", "name columns uniquely")
    columns = []
    for name in frame.columns:
        series = frame[name]
        if series.dtype.kind in "iufb":
            columns.append(series.to_numpy())
        else:
            columns.append(series.astype(object).to_numpy())
    X = np.empty((len(frame), len(columns)), dtype=object)
    for j, column in enumerate(columns):
        X[:, j] = column
    if all(c.dtype.kind in "iuf" for c in columns):
        X = X.astype(np.float64)
    return Dataset(X=X, feature_names=names, source=path)
