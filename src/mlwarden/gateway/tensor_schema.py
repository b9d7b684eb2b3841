"""Tensor inputs: every row is a nested list of one declared shape and element type.

The rows are converted once into an object array (which also measures their shape), their
element types are checked as one set, and bounds are checked with NumPy. Only a failed
check walks the rows to name the first bad element, e.g. ``inputs[0][2][5]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.gateway.input_problems import InputProblem, json_kind, rows_of, type_message
from mlwarden.gateway.input_schema import (
    DEFAULT_MAX_ROWS,
    MAX_ROW_ELEMENTS,
    InputSchema,
    SchemaReader,
    first_bad,
    number_text,
)

TENSOR_DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "bool",
)
MAX_DIMS = 8


@dataclass(frozen=True)
class TensorSchema(InputSchema):
    """Rows of ``shape`` elements of ``dtype``; :meth:`validate` returns an array of shape
    ``(rows, *shape)`` and that dtype."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    min: float | None = None
    max: float | None = None
    allow_nan: bool = False
    max_rows: int = DEFAULT_MAX_ROWS
    kind: ClassVar[str] = "tensor"
    KEYS: ClassVar[frozenset[str]] = frozenset(
        {"kind", "shape", "dtype", "min", "max", "allow_nan", "max_rows"}
    )
    _plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(self.shape))
        problem = _problem(self)
        if problem:
            raise UsageError("input schema", problem, "fix the tensor schema")
        object.__setattr__(self, "_plan", _Plan(self))

    @property
    def row_shape(self) -> tuple[int, ...]:
        """The declared per-row shape."""
        return self.shape

    def to_dict(self) -> dict[str, Any]:
        """The schema as a JSON/YAML-able mapping."""
        out: dict[str, Any] = {"kind": self.kind, "shape": list(self.shape), "dtype": self.dtype}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.allow_nan:
            out["allow_nan"] = True
        out["max_rows"] = self.max_rows
        return out

    def validate(self, payload: object) -> npt.NDArray[Any]:
        """Check ``{"inputs": [...]}`` and return a ``(rows, *shape)`` array."""
        plan = self._plan
        rows = rows_of(payload, self.max_rows)
        expected = (len(rows), *self.shape)
        try:
            obj = np.array(rows, dtype=object)
        except ValueError:  # ragged beyond what an object array can hold
            obj = None
        if obj is None or obj.shape != expected:
            for i, row in enumerate(rows):
                plan.walk(row, self.shape, f"inputs[{i}]")
            raise InputProblem("inputs", f"rows do not have the shape {list(self.shape)}")
        flat: list[object] = obj.reshape(-1).tolist()
        if not set(map(type, flat)) <= plan.accepts:
            k = next(k for k, v in enumerate(flat) if type(v) not in plan.accepts)
            raise InputProblem(plan.field(k, expected), plan.type_message(flat[k]))
        try:
            values = np.array(flat, dtype=plan.work_dtype)
        except OverflowError:
            k = next(k for k, v in enumerate(flat) if type(v) is int and not plan.fits(v))
            raise InputProblem(plan.field(k, expected), plan.value_message(flat[k])) from None
        if plan.low is not None:
            ok = (values >= plan.low) & (values <= plan.high)
            if self.allow_nan:
                ok |= np.isnan(values)
            if not ok.all():
                (k,) = first_bad(ok)
                raise InputProblem(plan.field(k, expected), plan.value_message(flat[k]))
        return values.reshape(expected).astype(self.dtype, copy=False)

    @classmethod
    def parse(cls, reader: SchemaReader) -> TensorSchema:
        """Read a ``kind: tensor`` mapping."""
        shape: list[int] = []
        for k, dim in enumerate(reader.items("shape", 1, MAX_DIMS)):
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise reader.error(f"shape[{k}]", f"{dim!r} is not a positive size")
            shape.append(dim)
        if math.prod(shape) > MAX_ROW_ELEMENTS:
            raise reader.error(
                "shape", f"{math.prod(shape)} elements per row, over {MAX_ROW_ELEMENTS}"
            )
        dtype = reader.choice("dtype", TENSOR_DTYPES)
        low, high = reader.bounds()
        allow_nan = reader.flag("allow_nan")
        if dtype == "bool" and (low is not None or high is not None):
            raise reader.error("min", "a bool tensor has no bounds", "remove min and max")
        if allow_nan and not dtype.startswith("float"):
            raise reader.error("allow_nan", f"{dtype} values cannot be NaN", "remove allow_nan")
        return cls(tuple(shape), dtype, low, high, allow_nan, reader.max_rows())

    @classmethod
    def infer(cls, arr: npt.NDArray[Any], max_rows: int) -> TensorSchema:
        """A schema that admits ``arr``'s rows, bounded by their minimum and maximum."""
        dtype = arr.dtype.name
        if dtype not in TENSOR_DTYPES:
            raise UsageError("example", f"has dtype {dtype}", f"use one of {TENSOR_DTYPES}")
        shape = tuple(int(d) for d in arr.shape[1:])
        if dtype == "bool":
            return cls(shape, dtype, max_rows=max_rows)
        if arr.dtype.kind in "iu":
            return cls(shape, dtype, int(arr.min()), int(arr.max()), max_rows=max_rows)
        finite = arr[np.isfinite(arr)]
        allow_nan = bool(np.isnan(arr).any())
        if finite.size == 0:
            return cls(shape, dtype, allow_nan=allow_nan, max_rows=max_rows)
        low, high = float(finite.min()), float(finite.max())
        return cls(shape, dtype, low, high, allow_nan, max_rows)


def _problem(schema: TensorSchema) -> str | None:
    shape = schema.shape
    if not 1 <= len(shape) <= MAX_DIMS or any(d < 1 for d in shape):
        return f"shape {list(shape)} needs 1 to {MAX_DIMS} positive sizes"
    if math.prod(shape) > MAX_ROW_ELEMENTS:
        return f"shape {list(shape)} holds over {MAX_ROW_ELEMENTS} elements per row"
    if schema.dtype not in TENSOR_DTYPES:
        return f"dtype {schema.dtype!r} is not one of {', '.join(TENSOR_DTYPES)}"
    if schema.allow_nan and not schema.dtype.startswith("float"):
        return f"{schema.dtype} values cannot be NaN"
    if schema.min is not None and schema.max is not None and schema.min > schema.max:
        return f"min {schema.min} is above max {schema.max}"
    return None


class _Plan:
    """Per-schema constants: accepted JSON types, the working dtype and the bounds."""

    def __init__(self, schema: TensorSchema) -> None:
        self.schema = schema
        self.dtype = schema.dtype
        self.low: float | int | None = None
        self.high: float | int = 0
        if self.dtype == "bool":
            self.accepts: frozenset[type] = frozenset({bool})
            self.work_dtype: type[np.generic] = np.bool_
        elif self.dtype.startswith("float"):
            types = {int, float, type(None)} if schema.allow_nan else {int, float}
            self.accepts = frozenset(types)
            self.work_dtype = np.float64
            edge = float(np.finfo(self.dtype).max)  # beyond it the cast would make infinity
            self.low = -edge if schema.min is None else max(schema.min, -edge)
            self.high = edge if schema.max is None else min(schema.max, edge)
        else:
            self.accepts = frozenset({int})
            self.work_dtype = np.int64
            info = np.iinfo(self.dtype)
            self.low = int(info.min) if schema.min is None else max(math.ceil(schema.min), info.min)
            self.high = (
                int(info.max) if schema.max is None else min(math.floor(schema.max), info.max)
            )

    @staticmethod
    def field(k: int, expected: tuple[int, ...]) -> str:
        """The path of flat element ``k``: ``inputs[i][j]...``."""
        index = np.unravel_index(k, expected)
        return "inputs" + "".join(f"[{int(i)}]" for i in index)

    def fits(self, value: int) -> bool:
        return self.low is not None and self.low <= value <= self.high

    def walk(self, node: object, dims: tuple[int, ...], path: str) -> None:
        """Raise at the first element that breaks the shape or the element type."""
        if not dims:
            if type(node) not in self.accepts:
                raise InputProblem(path, self.type_message(node))
            return
        if type(node) is not list:
            raise InputProblem(path, f"expected a list of {dims[0]} entries, got {json_kind(node)}")
        if len(node) != dims[0]:
            raise InputProblem(path, f"expected {dims[0]} entries, got {len(node)}")
        for k, child in enumerate(node):
            self.walk(child, dims[1:], f"{path}[{k}]")

    def type_message(self, value: object) -> str:
        return type_message(self.dtype, value, self.schema.allow_nan)

    def value_message(self, value: object) -> str:
        """Why an element that has the right type was refused."""
        if isinstance(value, float) and math.isnan(value):
            return "NaN is not allowed"
        if isinstance(value, float) and math.isinf(value):
            return "infinity is not allowed"
        low, high = self.schema.min, self.schema.max
        if isinstance(value, int | float):  # Python compares huge ints with floats exactly
            if low is not None and value < low:
                return f"{value!r} is below the minimum {number_text(low)}"
            if high is not None and value > high:
                return f"{value!r} is above the maximum {number_text(high)}"
        return f"{value!r} is outside the range of {self.dtype}"
