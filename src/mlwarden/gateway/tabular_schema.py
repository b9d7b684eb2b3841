"""Tabular inputs: named features, each a float, an integer or a boolean.

A row is either a list of values in feature order or an object keyed by feature name.
Validation converts every row at once and checks types and bounds with NumPy; only when a
check fails are the rows walked again, to name the first bad field.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.gateway.input_problems import InputProblem, member, rows_of, type_message
from mlwarden.gateway.input_schema import (
    DEFAULT_MAX_ROWS,
    MAX_FEATURES,
    InputSchema,
    SchemaReader,
    first_bad,
    number_text,
)

FEATURE_DTYPES = ("float", "int", "bool")
_FEATURE_KEYS = frozenset({"name", "dtype", "min", "max", "allow_nan"})
_MAX_NAME = 256
# Integers travel as float64 inside the array; beyond 2**53 they would silently change.
_EXACT_INT = float(2**53)
_FLOAT_MAX = float(np.finfo(np.float64).max)
_Row = Sequence[object]
_SMALL = 256
"""Arrays up to this many values are bounds-checked in Python (NumPy's per-call cost is
more than the check); larger ones, and any that fail, by NumPy."""


@dataclass(frozen=True)
class Feature:
    """One input column: its name, type, optional bounds and whether NaN is allowed."""

    name: str
    dtype: str = "float"
    min: float | None = None
    max: float | None = None
    allow_nan: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The feature as a schema-file mapping."""
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.allow_nan:
            out["allow_nan"] = True
        return out

    def accepts(self) -> frozenset[type]:
        """The JSON value types this feature takes (``bool`` is never a number)."""
        if self.dtype == "bool":
            return frozenset({bool})
        if self.dtype == "int":
            return frozenset({int})
        return frozenset({int, float, type(None)} if self.allow_nan else {int, float})

    def limits(self) -> tuple[float, float]:
        """Inclusive bounds for the converted value, tightened to what float64 holds."""
        if self.dtype == "bool":
            return 0.0, 1.0
        edge = _EXACT_INT if self.dtype == "int" else _FLOAT_MAX
        low = -edge if self.min is None else max(self.min, -edge)
        high = edge if self.max is None else min(self.max, edge)
        return float(low), float(high)


@dataclass(frozen=True)
class TabularSchema(InputSchema):
    """Rows of named features; :meth:`validate` returns a float64 ``(rows, features)``
    array (booleans as 0/1)."""

    features: tuple[Feature, ...]
    max_rows: int = DEFAULT_MAX_ROWS
    kind: ClassVar[str] = "tabular"
    KEYS: ClassVar[frozenset[str]] = frozenset({"kind", "features", "max_rows"})
    _plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if not 1 <= len(names) <= MAX_FEATURES or len(set(names)) != len(names):
            raise UsageError(
                "input schema",
                f"{len(names)} features ({len(set(names))} distinct names)",
                f"declare 1 to {MAX_FEATURES} features with distinct names",
            )
        object.__setattr__(self, "_plan", _Plan(self.features))

    @property
    def row_shape(self) -> tuple[int, ...]:
        """``(number of features,)``."""
        return (len(self.features),)

    def to_dict(self) -> dict[str, Any]:
        """The schema as a JSON/YAML-able mapping."""
        return {
            "kind": self.kind,
            "features": [f.to_dict() for f in self.features],
            "max_rows": self.max_rows,
        }

    def validate(self, payload: object) -> npt.NDArray[np.float64]:
        """Check ``{"inputs": [...]}`` and return a ``(rows, features)`` float64 array."""
        plan = self._plan
        table = plan.normalise(rows_of(payload, self.max_rows))
        if not set(map(type, chain.from_iterable(table))) <= plan.common:
            plan.check_types(table)  # raises unless each column holds only its own types
        try:
            arr = np.array(table, dtype=np.float64)
        except OverflowError:
            plan.raise_overflow(table)
        if arr.size <= _SMALL and plan.within(arr):
            return arr
        ok = (arr >= plan.low) & (arr <= plan.high)
        if plan.nan_columns is not None:
            ok |= np.isnan(arr) & plan.nan_columns
        if not ok.all():
            plan.raise_value(table, arr, ok)
        return arr

    @classmethod
    def parse(cls, reader: SchemaReader) -> TabularSchema:
        """Read a ``kind: tabular`` mapping."""
        features: list[Feature] = []
        seen: set[str] = set()
        for k, item in enumerate(reader.items("features", 1, MAX_FEATURES)):
            fr = SchemaReader(item, reader.source, f"features[{k}]", _FEATURE_KEYS)
            name = fr.data.get("name")
            if not isinstance(name, str) or not 1 <= len(name) <= _MAX_NAME:
                raise fr.error("name", f"{name!r} is not a name of 1 to {_MAX_NAME} characters")
            if name in seen:
                raise fr.error("name", f"{name!r} is declared twice", "give features unique names")
            seen.add(name)
            dtype = fr.choice("dtype", FEATURE_DTYPES)
            low, high = fr.bounds()
            allow_nan = fr.flag("allow_nan")
            if dtype == "bool" and (low is not None or high is not None):
                raise fr.error("min", "a bool feature has no bounds", "remove min and max")
            if dtype != "float" and allow_nan:
                raise fr.error("allow_nan", f"{dtype} values cannot be NaN", "remove allow_nan")
            features.append(Feature(name, dtype, low, high, allow_nan))
        return cls(tuple(features), reader.max_rows())

    @classmethod
    def infer(
        cls, arr: npt.NDArray[Any], names: Sequence[str] | None, max_rows: int
    ) -> TabularSchema:
        """A schema that admits ``arr``'s rows, bounded by their minimum and maximum."""
        if arr.ndim != 2:
            raise UsageError("example", f"has shape {arr.shape}", "pass (rows, features)")
        names = list(names) if names is not None else [f"f{j}" for j in range(arr.shape[1])]
        if len(names) != arr.shape[1]:
            raise UsageError(
                "names", f"{len(names)} names for {arr.shape[1]} columns", "name every column"
            )
        kinds = {"b": "bool", "i": "int", "u": "int", "f": "float"}
        dtype = kinds.get(arr.dtype.kind)
        if dtype is None:
            raise UsageError("example", f"has dtype {arr.dtype}", "pass numbers or booleans")
        features = [_infer_feature(name, dtype, arr[:, j]) for j, name in enumerate(names)]
        return cls(tuple(features), max_rows)


def _infer_feature(name: str, dtype: str, column: npt.NDArray[Any]) -> Feature:
    if dtype == "bool":
        return Feature(name, "bool")
    if dtype == "int":
        return Feature(name, "int", int(column.min()), int(column.max()))
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return Feature(name, "float", None, None, bool(np.isnan(column).any()))
    low, high = float(finite.min()), float(finite.max())
    return Feature(name, "float", low, high, bool(np.isnan(column).any()))


class _Plan:
    """Per-schema tables computed once so that validation is a few NumPy calls."""

    def __init__(self, features: tuple[Feature, ...]) -> None:
        self.features = features
        self.names = tuple(f.name for f in features)
        self.name_set = frozenset(self.names)
        first = self.names[0]
        self.getter: Callable[[dict[str, object]], _Row] = (
            operator.itemgetter(*self.names) if len(self.names) > 1 else lambda r: (r[first],)
        )
        self.accepts = [f.accepts() for f in features]
        self.common = frozenset.intersection(*self.accepts)
        limits = np.array([f.limits() for f in features], dtype=np.float64)
        self.low, self.high = limits[:, 0].copy(), limits[:, 1].copy()
        nan = np.array([f.allow_nan for f in features])
        self.nan_columns = nan if nan.any() else None
        self.bounds = list(zip(self.low.tolist(), self.high.tolist(), nan.tolist(), strict=True))

    def within(self, arr: npt.NDArray[np.float64]) -> bool:
        """Whether every value of ``arr`` is within its column's bounds (or NaN where NaN
        is allowed): the NumPy check below, value by value, for small arrays."""
        bounds = self.bounds
        for row in arr.tolist():
            for value, (low, high, nan_ok) in zip(row, bounds, strict=True):
                if not low <= value <= high and not (nan_ok and value != value):
                    return False
        return True

    def field(self, i: int, j: int) -> str:
        return member(f"inputs[{i}]", self.names[j])

    def normalise(self, rows: list[object]) -> list[_Row]:
        """Each row as a sequence in feature order, of the right length."""
        n = len(self.names)
        table: list[_Row] = []
        for i, row in enumerate(rows):
            if type(row) is list:
                if len(row) != n:
                    raise InputProblem(f"inputs[{i}]", f"expected {n} values, got {len(row)}")
                table.append(row)
            elif type(row) is dict:
                if row.keys() != self.name_set:
                    self._raise_keys(i, row)
                table.append(self.getter(row))
            else:
                raise InputProblem(
                    f"inputs[{i}]",
                    f"expected a list of {n} values or an object keyed by feature name",
                )
        return table

    def _raise_keys(self, i: int, row: dict[str, object]) -> None:
        for name in self.names:
            if name not in row:
                raise InputProblem(member(f"inputs[{i}]", name), "missing")
        extra = sorted(str(k) for k in row if k not in self.name_set)
        raise InputProblem(member(f"inputs[{i}]", extra[0]), "not a feature of this model")

    def check_types(self, table: list[_Row]) -> None:
        """Raise for the first value whose type its column does not take, if any."""
        bad = [
            j
            for j, column in enumerate(zip(*table, strict=True))
            if not set(map(type, column)) <= self.accepts[j]
        ]
        for i, row in enumerate(table):
            for j in bad:
                if type(row[j]) not in self.accepts[j]:
                    feature = self.features[j]
                    raise InputProblem(
                        self.field(i, j), type_message(feature.dtype, row[j], feature.allow_nan)
                    )

    def raise_overflow(self, table: list[_Row]) -> None:
        for i, row in enumerate(table):
            for j, value in enumerate(row):
                if type(value) is int and abs(value) > _EXACT_INT:
                    try:
                        float(value)
                    except OverflowError:
                        raise InputProblem(self.field(i, j), "number too large") from None
        raise InputProblem("inputs", "a number is too large")

    def raise_value(
        self, table: list[_Row], arr: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_]
    ) -> None:
        i, j = first_bad(ok)
        value, feature = float(arr[i, j]), self.features[j]
        shown = repr(table[i][j])
        if np.isnan(value):
            message = "NaN is not allowed"
        elif np.isinf(value):
            message = "infinity is not allowed"
        elif feature.min is not None and value < feature.min:
            message = f"{shown} is below the minimum {number_text(feature.min)}"
        elif feature.max is not None and value > feature.max:
            message = f"{shown} is above the maximum {number_text(feature.max)}"
        else:
            message = f"{shown} is too large to handle exactly (limit 2**53)"
        raise InputProblem(self.field(i, j), message)
