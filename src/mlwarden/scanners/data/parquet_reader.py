"""Parquet tables read row group by row group, in record batches, with pyarrow.

Only string-like columns (string, large string, string view, dictionary of strings) and
integer columns are read: they are where identifiers live. Nested, binary, float and
temporal columns are left unread and named in the result so the report can say so.
Sizes declared by the file are checked before anything is decompressed: every row
group's uncompressed size is charged to the scan's decompression budget (a Parquet file
can be a decompression bomb like any archive).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlwarden.limits import Limits
from mlwarden.scanners.base import Budget, Buffer, LimitExceeded, MalformedInput

BATCH_ROWS = 4_096


@dataclass
class ParquetLayout:
    """What the reader found in the file's metadata."""

    rows: int = 0
    read_columns: list[str] = field(default_factory=list)
    skipped_columns: list[str] = field(default_factory=list)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # an optional dependency: the extra "parquet"
        raise MalformedInput(
            "pyarrow is not installed, so Parquet files cannot be read (install mlwarden[parquet])"
        ) from exc
    return pa, pq


def _readable(pa: Any, dtype: Any) -> bool:
    types = pa.types
    if types.is_dictionary(dtype):
        return _readable(pa, dtype.value_type)
    if types.is_boolean(dtype):
        return False
    return bool(
        types.is_string(dtype)
        or types.is_large_string(dtype)
        or getattr(types, "is_string_view", lambda _: False)(dtype)
        or types.is_integer(dtype)
    )


def read_batches(
    data: Buffer, *, max_columns: int, limits: Limits, budget: Budget, layout: ParquetLayout
) -> Iterator[tuple[dict[str, list[str]], list[int]]]:
    """Column batches ``(column -> values as text, 1-based row numbers)``.

    Raises :class:`MalformedInput` when pyarrow rejects the file and
    :class:`LimitExceeded` when its declared sizes exceed the limits.
    """
    pa, pq = _pyarrow()
    buffer = pa.py_buffer(data)
    parquet: Any = None
    try:
        try:
            parquet = pq.ParquetFile(pa.BufferReader(buffer))
            meta = parquet.metadata
            schema = parquet.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise MalformedInput(f"pyarrow cannot read the Parquet footer: {exc}") from None
        if meta.serialized_size > limits.max_metadata_bytes:
            raise LimitExceeded(
                "Parquet footer size",
                limits.max_metadata_bytes,
                "raise limits.max_metadata_bytes if the file is trusted",
            )
        if schema.names and len(schema.names) > max_columns:
            raise LimitExceeded(
                "Parquet column count", max_columns, "raise DataScanSettings.max_columns"
            )
        layout.rows = meta.num_rows
        for column in schema:
            target = layout.read_columns if _readable(pa, column.type) else layout.skipped_columns
            target.append(column.name)
        if not layout.read_columns:
            return
        row = 0
        for group in range(meta.num_row_groups):
            size = meta.row_group(group).total_byte_size
            if size > limits.max_member_bytes:
                raise LimitExceeded(
                    "uncompressed size of one Parquet row group",
                    limits.max_member_bytes,
                    "raise limits.max_member_bytes if the file is trusted",
                )
            budget.spend_decompressed(max(0, size))
            budget.check_time()
            try:
                batches = parquet.iter_batches(
                    batch_size=BATCH_ROWS, row_groups=[group], columns=layout.read_columns
                )
                for batch in batches:
                    columns = {
                        name: _texts(pa, batch.column(i))
                        for i, name in enumerate(batch.schema.names)
                    }
                    n = batch.num_rows
                    del batch
                    yield columns, list(range(row + 1, row + n + 1))
                    row += n
                    budget.check_time()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise MalformedInput(f"row group {group}: {exc}") from None
    finally:
        # pyarrow may hold views of the buffer (an mmap the engine closes after the scan).
        del parquet, buffer
        gc.collect(0)


def _texts(pa: Any, array: Any) -> list[str]:
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    values = array.to_pylist()
    if pa.types.is_integer(array.type):
        return ["" if v is None else str(v) for v in values]
    return ["" if v is None else v for v in values]
