"""The declared input schema of a served model, and how a schema file is read.

Two kinds, both plain JSON/YAML mappings::

    {"kind": "tabular", "max_rows": 1024, "features": [
        {"name": "age", "dtype": "int", "min": 0, "max": 130},
        {"name": "income", "dtype": "float", "min": 0, "allow_nan": true}]}
    {"kind": "tensor", "shape": [1, 8, 8], "dtype": "float32", "min": 0.0, "max": 1.0,
     "max_rows": 256}

``shape`` is one row's shape. ``allow_nan`` admits NaN (and JSON ``null``, which is how
JSON writes a missing number); infinities are always refused. The kinds live in
:mod:`~mlwarden.gateway.tabular_schema` and :mod:`~mlwarden.gateway.tensor_schema`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.gateway.input_problems import InputProblem

__all__ = ["MAX_FEATURES", "MAX_ROWS", "MAX_ROW_ELEMENTS", "InputProblem", "InputSchema"]

MAX_FEATURES = 4096
MAX_ROW_ELEMENTS = 1 << 20
MAX_ROWS = 65_536
DEFAULT_MAX_ROWS = 1024


class InputSchema(ABC):
    """What one row of a model's input must look like, and how many rows a request holds."""

    kind: ClassVar[str]
    max_rows: int

    @property
    @abstractmethod
    def row_shape(self) -> tuple[int, ...]:
        """The shape of one row of :meth:`validate`'s result."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The schema as a JSON/YAML-able mapping that :meth:`from_dict` reads back."""

    @abstractmethod
    def validate(self, payload: object) -> npt.NDArray[Any]:
        """Check a decoded request body ``{"inputs": [row, ...]}`` and return its rows as
        one array of shape ``(rows, *row_shape)``; raise :class:`InputProblem` naming the
        first bad field otherwise."""

    @staticmethod
    def from_dict(data: object, source: str) -> InputSchema:
        """Read a schema mapping; :class:`UsageError` names ``source`` and the bad field."""
        from mlwarden.gateway.tabular_schema import TabularSchema
        from mlwarden.gateway.tensor_schema import TensorSchema

        kinds: dict[str, type[TabularSchema] | type[TensorSchema]] = {
            "tabular": TabularSchema,
            "tensor": TensorSchema,
        }
        if not isinstance(data, dict):
            raise UsageError(source, "the input schema is not a mapping", _FIX)
        kind = data.get("kind")
        schema_type = kinds.get(kind) if isinstance(kind, str) else None
        if schema_type is None:
            raise UsageError(f"{source}: kind", f"{kind!r} is not a schema kind", _FIX)
        return schema_type.parse(SchemaReader(data, source, "", schema_type.KEYS))

    @staticmethod
    def from_model(
        example: npt.ArrayLike,
        *,
        names: Sequence[str] | None = None,
        kind: str | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> InputSchema:
        """Infer a schema from sample rows (the first axis counts rows).

        Two-dimensional samples give a tabular schema (features ``f0, f1 ...`` unless
        ``names`` are given), higher ones a tensor schema; ``kind`` overrides that. Bounds
        are the samples' own minimum and maximum, and NaN is allowed where the samples hold
        it.
        """
        from mlwarden.gateway.tabular_schema import TabularSchema
        from mlwarden.gateway.tensor_schema import TensorSchema

        arr = np.asarray(example)
        if arr.ndim < 2 or arr.shape[0] == 0:
            raise UsageError(
                "example", f"has shape {arr.shape}", "pass at least one row: shape (rows, ...)"
            )
        kind = kind or ("tabular" if arr.ndim == 2 else "tensor")
        if kind == "tabular":
            return TabularSchema.infer(arr, names, max_rows)
        if kind == "tensor":
            return TensorSchema.infer(arr, max_rows)
        raise UsageError("kind", f"{kind!r} is not a schema kind", "use 'tabular' or 'tensor'")


_FIX = "see `mlwarden.gateway.input_schema` for the schema format"


class SchemaReader:
    """One mapping of a schema file; every error names the source and the field."""

    def __init__(self, data: object, source: str, path: str, keys: frozenset[str]) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            raise UsageError(f"{source}: {path or 'schema'}", "expected a mapping", _FIX)
        unknown = sorted(str(k) for k in data if k not in keys)
        if unknown:
            raise self.error(unknown[0], "unknown key", f"use only {', '.join(sorted(keys))}")
        self.data: dict[str, object] = data

    def where(self, key: str) -> str:
        """The dotted path of ``key`` in the file."""
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str, fix: str = _FIX) -> UsageError:
        """A :class:`UsageError` about ``key``."""
        return UsageError(f"{self.source}: {self.where(key)}", problem, fix)

    def choice(self, key: str, options: Sequence[str]) -> str:
        """A required string from ``options``."""
        value = self.data.get(key)
        if value not in options:
            raise self.error(key, f"{value!r} is not one of {', '.join(options)}")
        return str(value)

    def number(self, key: str) -> float | None:
        """An optional finite number."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"{value!r} is not a number")
        if not math.isfinite(value):
            raise self.error(key, f"{value!r} is not finite")
        return value

    def bounds(self) -> tuple[float | None, float | None]:
        """The optional ``min`` and ``max``, with ``min <= max``."""
        low, high = self.number("min"), self.number("max")
        if low is not None and high is not None and low > high:
            raise self.error("min", f"{low} is above max {high}")
        return low, high

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        """An integer in ``[low, high]``; required unless ``default`` is given."""
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"{value!r} is not an integer")
        if not low <= value <= high:
            raise self.error(key, f"{value} is outside {low}..{high}")
        return value

    def flag(self, key: str) -> bool:
        """An optional boolean, false when absent."""
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, f"{value!r} is not true or false")
        return value

    def items(self, key: str, low: int, high: int) -> list[object]:
        """A required list of ``low`` to ``high`` entries."""
        value = self.data.get(key)
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {type(value).__name__}")
        if not low <= len(value) <= high:
            raise self.error(key, f"{len(value)} entries, expected {low} to {high}")
        return value

    def max_rows(self) -> int:
        """The per-request row limit."""
        return self.integer("max_rows", 1, MAX_ROWS, DEFAULT_MAX_ROWS)


def first_bad(ok: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    """The index of the first False in row-major order (``ok`` must hold one)."""
    flat = int(np.argmin(ok.reshape(-1)))
    return tuple(int(i) for i in np.unravel_index(flat, ok.shape))


def number_text(value: float) -> str:
    """A bound or value as written in messages: ``130`` rather than ``130.0``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
