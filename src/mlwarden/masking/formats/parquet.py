"""Parquet: read in record batches, masked, written as Parquet with the input's compression.

The output schema is fixed before the first row is written, from the input schema, the
column rules and the classification of the first batch: a column masked by an operator
becomes text (``string``), a dropped column or struct field disappears, everything else
keeps its type (detection replaces text with text). Struct fields are columns with dotted
paths (``address.zip``). File and field metadata are not copied: they can hold anything,
and pandas metadata would describe columns that were dropped or retyped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from mlwarden.errors import UsageError
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.plan import ColumnAction
from mlwarden.masking.records import DROPPED, RecordMasker, RecordShapeError, join_path

_FIX = "check that the file is Parquet, or rewrite it with pyarrow"


class ParquetFormat:
    """Apache Parquet (needs ``pyarrow``: ``pip install 'mlwarden[parquet]'``)."""

    name = "parquet"

    def mask(self, source: Path, sink: BinaryIO, masker: RecordMasker, limits: MaskLimits) -> int:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(
                str(source),
                "Parquet support needs pyarrow, which is not installed",
                "pip install 'mlwarden[parquet]'",
            ) from None
        try:
            with source.open("rb") as binary:
                parquet = pq.ParquetFile(binary)
                _check_bounds(source, parquet, limits)
                return _Rewriter(pa, pq, parquet, masker, limits).run(sink)
        except pa.ArrowException as exc:
            raise UsageError(str(source), f"cannot read it as Parquet ({exc})", _FIX) from None
        except RecordShapeError as exc:
            raise UsageError(str(source), f"a value is {exc}", "flatten the schema") from None


def _check_bounds(source: Path, parquet: Any, limits: MaskLimits) -> None:
    meta = parquet.metadata
    if meta.num_columns > limits.max_columns:
        raise UsageError(
            str(source), f"{meta.num_columns} columns (limit {limits.max_columns})", _FIX
        )
    for index in range(meta.num_row_groups):
        size = meta.row_group(index).total_byte_size
        if size > limits.max_row_group_bytes:
            raise UsageError(
                str(source),
                f"row group {index} holds {size} uncompressed bytes "
                f"(limit {limits.max_row_group_bytes})",
                "rewrite the file with smaller row groups",
            )


class _Rewriter:
    def __init__(self, pa: Any, pq: Any, parquet: Any, masker: RecordMasker, limits: MaskLimits):
        self.pa = pa
        self.pq = pq
        self.parquet = parquet
        self.masker = masker
        self.limits = limits

    def run(self, sink: BinaryIO) -> int:
        schema = self.parquet.schema_arrow
        batches = self.parquet.iter_batches(batch_size=self.limits.chunk_rows)
        first = next(batches, None)
        if first is not None:
            samples: dict[str, list[str]] = {}
            for field, column in zip(schema, first.columns, strict=True):
                for value in column.to_pylist():
                    self.masker.sample(samples, field.name, value)
            self.masker.classify(samples)
        out_fields = self._out_fields(schema)
        out_schema = self.pa.schema([f for _, f in out_fields])
        writer = self.pq.ParquetWriter(sink, out_schema, compression=self._compression())
        rows = 0
        pending: list[Any] = []
        pending_rows = 0
        try:
            for batch in _chain(first, batches):
                pending.append(self._mask_batch(batch, out_fields, out_schema))
                rows += batch.num_rows
                pending_rows += batch.num_rows
                if pending_rows >= self.limits.parquet_row_group_rows:
                    writer.write_table(self.pa.Table.from_batches(pending, schema=out_schema))
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(self.pa.Table.from_batches(pending, schema=out_schema))
        finally:
            writer.close()
        return rows

    def _compression(self) -> str:
        meta = self.parquet.metadata
        if meta.num_row_groups and meta.num_columns:
            codec = str(meta.row_group(0).column(0).compression).lower()
            if codec in {"snappy", "gzip", "brotli", "zstd", "lz4", "none", "uncompressed"}:
                return "none" if codec == "uncompressed" else codec
        return "snappy"

    def _out_fields(self, schema: Any) -> list[tuple[int, Any]]:
        """(input column index, output field) for every column that is kept."""
        fields: list[tuple[int, Any]] = []
        names: set[str] = set()
        for index, field in enumerate(schema):
            out_type = self._out_type(field.name, field.type, None)
            if out_type is None:
                self.masker.tally.dropped[field.name] = None
                continue
            name = _unique(self.masker.mask_name(field.name), names)
            fields.append((index, self.pa.field(name, out_type, nullable=field.nullable)))
        return fields

    def _out_type(self, path: str, arrow_type: Any, inherited: ColumnAction | None) -> Any:
        """The output type of a value at ``path``; None when it is dropped."""
        pa = self.pa
        action = self.masker.rule(path, inherited)
        if action is not None and action.drop:
            return None
        if pa.types.is_struct(arrow_type):
            children = []
            names: set[str] = set()
            for child in arrow_type:
                child_type = self._out_type(join_path(path, child.name), child.type, action)
                if child_type is None:
                    continue
                name = child.name if action is not None else self.masker.mask_name(child.name)
                children.append(pa.field(_unique(name, names), child_type, child.nullable))
            if not children:
                raise UsageError(
                    path, "every field of this struct column is dropped", "drop the column itself"
                )
            return pa.struct(children)
        if pa.types.is_map(arrow_type):
            item = self._out_type(path, arrow_type.item_type, action)
            return pa.map_(arrow_type.key_type, item)
        if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            item = self._out_type(path, arrow_type.value_type, action)
            return pa.large_list(item) if pa.types.is_large_list(arrow_type) else pa.list_(item)
        if pa.types.is_fixed_size_list(arrow_type):
            item = self._out_type(path, arrow_type.value_type, action)
            return pa.list_(item, arrow_type.list_size)
        operator = action.operator if action is not None else None
        if operator is None:
            operator = self.masker.classified_operator(path)
        if operator is None or operator.name == "keep":
            return arrow_type
        return pa.large_string() if pa.types.is_large_string(arrow_type) else pa.string()

    def _mask_batch(self, batch: Any, out_fields: list[tuple[int, Any]], out_schema: Any) -> Any:
        arrays = []
        for index, out_field in out_fields:
            name = batch.schema.field(index).name
            values = []
            for value in batch.column(index).to_pylist():
                masked = self.masker.mask_value(name, value)
                values.append(None if masked is DROPPED else masked)
            arrays.append(self.pa.array(values, type=out_field.type))
        return self.pa.RecordBatch.from_arrays(arrays, schema=out_schema)


def _unique(name: str, taken: set[str]) -> str:
    # Mirrors RecordMasker: two names masked to the same token both survive.
    while name in taken:
        name = f"{name}#"
    taken.add(name)
    return name


def _chain(first: Any, rest: Any) -> Any:
    # pyarrow's batch iterator must not be advanced again once it reported its end.
    if first is None:
        return
    yield first
    yield from rest
