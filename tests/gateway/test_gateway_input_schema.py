"""Input schemas: valid payloads pass with their values intact, and every kind of corruption
is refused with the exact field named."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.errors import UsageError
from mlwarden.gateway.input_schema import InputProblem, InputSchema
from mlwarden.gateway.tabular_schema import Feature, TabularSchema
from mlwarden.gateway.tensor_schema import TensorSchema

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
bounds = st.one_of(st.none(), st.integers(-1000, 1000))


@st.composite
def features(draw: st.DrawFn) -> Feature:
    dtype = draw(st.sampled_from(["float", "int", "bool"]))
    if dtype == "bool":
        return Feature("x", "bool")
    low, high = draw(bounds), draw(bounds)
    if low is not None and high is not None and low > high:
        low, high = high, low
    allow_nan = dtype == "float" and draw(st.booleans())
    return Feature("x", dtype, low, high, allow_nan)


@st.composite
def tabular_schemas(draw: st.DrawFn) -> TabularSchema:
    feature_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    drawn = [draw(features()) for _ in feature_names]
    feats = tuple(
        Feature(n, f.dtype, f.min, f.max, f.allow_nan)
        for n, f in zip(feature_names, drawn, strict=True)
    )
    return TabularSchema(feats, max_rows=draw(st.integers(4, 8)))


def valid_value(draw: st.DrawFn, f: Feature) -> Any:
    if f.dtype == "bool":
        return draw(st.booleans())
    low = -(10**6) if f.min is None else f.min
    high = 10**6 if f.max is None else f.max
    if f.dtype == "int":
        return draw(st.integers(math.ceil(low), math.floor(high)))
    options = [st.floats(low, high, allow_nan=False), st.integers(math.ceil(low), math.floor(high))]
    if f.allow_nan:
        options += [st.just(float("nan")), st.none()]
    return draw(st.one_of(*options))


@st.composite
def tabular_cases(draw: st.DrawFn) -> tuple[TabularSchema, list[Any]]:
    schema = draw(tabular_schemas())
    rows: list[Any] = []
    for _ in range(draw(st.integers(1, schema.max_rows))):
        values = [valid_value(draw, f) for f in schema.features]
        as_object = draw(st.booleans())
        rows.append(
            {f.name: v for f, v in zip(schema.features, values, strict=True)}
            if as_object
            else values
        )
    return schema, rows


def expected_table(schema: TabularSchema, rows: list[Any]) -> np.ndarray:
    out = []
    for row in rows:
        values = [row[f.name] for f in schema.features] if isinstance(row, dict) else row
        out.append([math.nan if v is None else float(v) for v in values])
    return np.array(out, dtype=np.float64)


# --- tabular --------------------------------------------------------------------------------


@SETTINGS
@given(tabular_cases())
def test_valid_tabular_payloads_pass_with_their_values(
    case: tuple[TabularSchema, list[Any]],
) -> None:
    schema, rows = case
    arr = schema.validate({"inputs": rows})
    assert arr.shape == (len(rows), len(schema.features))
    np.testing.assert_array_equal(arr, expected_table(schema, rows))


def _corruptions(f: Feature, as_object: bool) -> list[tuple[str, Any, str]]:
    """(kind, bad value, words the message must contain) that this feature must refuse."""
    out: list[tuple[str, Any, str]] = [("string", "1.5", "string"), ("list", [1], "a list")]
    if f.dtype == "bool":
        out += [("number", 1, "true or false")]
        return out
    out += [("bool", True, "a boolean")]
    if not f.allow_nan:
        out += [("null", None, "null")]
    if f.dtype == "int":
        out += [("float", 2.5, "integer")]
    else:
        out += [("inf", float("inf"), "infinity")]
        if not f.allow_nan:
            out += [("nan", float("nan"), "NaN")]
    if f.min is not None:
        out += [("below", f.min - 1, "below the minimum")]
    if f.max is not None:
        out += [("above", f.max + 1, "above the maximum")]
    return out


@SETTINGS
@given(tabular_cases(), st.data())
def test_each_tabular_corruption_is_named(
    case: tuple[TabularSchema, list[Any]], data: st.DataObject
) -> None:
    schema, rows = case
    i = data.draw(st.integers(0, len(rows) - 1))
    j = data.draw(st.integers(0, len(schema.features) - 1))
    feature = schema.features[j]
    as_object = isinstance(rows[i], dict)
    kinds = _corruptions(feature, as_object)
    kind, bad, words = data.draw(st.sampled_from(kinds))
    if as_object:
        rows[i] = {**rows[i], feature.name: bad}
    else:
        rows[i] = [*rows[i][:j], bad, *rows[i][j + 1 :]]
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": rows})
    assert err.value.field == f"inputs[{i}].{feature.name}", kind
    assert words in err.value.message, (kind, err.value.message)


@SETTINGS
@given(tabular_cases(), st.data())
def test_tabular_row_structure_problems_are_named(
    case: tuple[TabularSchema, list[Any]], data: st.DataObject
) -> None:
    schema, rows = case
    i = data.draw(st.integers(0, len(rows) - 1))
    feature = data.draw(st.sampled_from(schema.features))
    if isinstance(rows[i], dict):
        if data.draw(st.booleans()):
            del rows[i][feature.name]
            expected, words = f"inputs[{i}].{feature.name}", "missing"
        else:
            rows[i]["zz_extra"] = 1
            expected, words = f"inputs[{i}].zz_extra", "not a feature"
    else:
        rows[i] = rows[i][:-1]
        expected, words = f"inputs[{i}]", f"expected {len(schema.features)} values"
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": rows})
    assert (err.value.field, words in err.value.message) == (expected, True)


def test_the_first_bad_field_in_reading_order_is_named() -> None:
    schema = TabularSchema((Feature("a", "int", 0, 10), Feature("b", "float")))
    rows = [[1, 1.0], [2, "x"], [99, 1.0]]
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": rows})
    assert err.value.field == "inputs[1].b"


def test_names_that_are_not_identifiers_are_quoted() -> None:
    schema = TabularSchema((Feature("blood pressure", "float", 0, 300),))
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": [{"blood pressure": 400}]})
    assert err.value.field == 'inputs[0]["blood pressure"]'


def test_integers_too_large_to_convert_exactly_are_refused() -> None:
    schema = TabularSchema((Feature("n", "int"), Feature("x", "float")))
    for bad in (2**60, 10**400):
        with pytest.raises(InputProblem) as err:
            schema.validate({"inputs": [[1, 0.0], [bad, 0.0]]})
        assert err.value.field == "inputs[1].n"


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"inputs": []}, "inputs", "empty"),
        ({"inputs": [[1.0]] * 5}, "inputs", "limit of 4"),
        ({}, "inputs", "missing"),
        ({"inputs": [[1.0]], "debug": True}, "debug", "unknown field"),
        ([[1.0]], "body", "expected an object"),
        ({"inputs": {"a": 1.0}}, "inputs", "expected a list"),
        ({"inputs": ["1.0"]}, "inputs[0]", "expected a list of 1 values"),
    ],
)
def test_request_level_problems(payload: object, field: str, words: str) -> None:
    schema = TabularSchema((Feature("a"),), max_rows=4)
    with pytest.raises(InputProblem) as err:
        schema.validate(payload)
    assert err.value.field == field and words in err.value.message


# --- tensor ---------------------------------------------------------------------------------

_TENSOR_DTYPES = ["float32", "float64", "int8", "uint8", "int64", "bool"]


@st.composite
def tensor_cases(draw: st.DrawFn) -> tuple[TensorSchema, list[Any]]:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    dtype = draw(st.sampled_from(_TENSOR_DTYPES))
    low = high = None
    if dtype != "bool":
        info = np.finfo(np.float32) if dtype.startswith("float") else np.iinfo(dtype)
        low = draw(st.one_of(st.none(), st.integers(max(-100, int(info.min)), 0)))
        high = draw(st.one_of(st.none(), st.integers(1, min(100, int(info.max)))))
    schema = TensorSchema(shape, dtype, low, high, max_rows=3)
    lo, hi = (-100 if low is None else low), (100 if high is None else high)
    if dtype == "bool":
        leaf: st.SearchStrategy[Any] = st.booleans()
    elif dtype.startswith("float"):
        leaf = st.one_of(st.integers(lo, hi), st.floats(lo, hi, width=32))
    else:
        leaf = st.integers(max(lo, int(np.iinfo(dtype).min)), hi)
    element = leaf
    for size in reversed(shape):
        element = st.lists(element, min_size=size, max_size=size)
    rows = draw(st.lists(element, min_size=1, max_size=3))
    return schema, rows


@SETTINGS
@given(tensor_cases())
def test_valid_tensor_payloads_pass_with_their_values(case: tuple[TensorSchema, list[Any]]) -> None:
    schema, rows = case
    arr = schema.validate({"inputs": rows})
    assert arr.shape == (len(rows), *schema.shape) and arr.dtype == np.dtype(schema.dtype)
    np.testing.assert_array_equal(arr, np.array(rows, dtype=schema.dtype))


def _path_and_set(rows: list[Any], index: tuple[int, ...], value: Any) -> str:
    node = rows
    for k in index[:-1]:
        node = node[k]
    node[index[-1]] = value
    return "inputs" + "".join(f"[{k}]" for k in index)


def _tensor_corruptions(schema: TensorSchema) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = [("0.5", "a string"), (None, "null"), ({"v": 1}, "an object")]
    if schema.dtype == "bool":
        return [*out, (1, "true or false")]
    out.append((True, "a boolean"))
    if schema.dtype.startswith("float"):
        out += [(float("nan"), "NaN"), (float("inf"), "infinity")]
    else:
        out.append((0.5, "an integer"))
    if schema.min is not None:
        out.append((schema.min - 1, "below the minimum"))
    if schema.max is not None:
        out.append((schema.max + 1, "above the maximum"))
    if schema.dtype in ("int8", "uint8") and schema.max is None:
        out.append((1000, "outside the range"))
    return out


@SETTINGS
@given(tensor_cases(), st.data())
def test_each_tensor_corruption_is_named(
    case: tuple[TensorSchema, list[Any]], data: st.DataObject
) -> None:
    schema, rows = case
    index = tuple(data.draw(st.integers(0, n - 1)) for n in (len(rows), *schema.shape))
    bad, words = data.draw(st.sampled_from(_tensor_corruptions(schema)))
    field = _path_and_set(rows, index, bad)
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": rows})
    assert (err.value.field, words in err.value.message) == (field, True), err.value.message


@SETTINGS
@given(tensor_cases(), st.data())
def test_tensor_shape_problems_are_named(
    case: tuple[TensorSchema, list[Any]], data: st.DataObject
) -> None:
    schema, rows = case
    depth = data.draw(st.integers(1, len(schema.shape)))
    index = tuple(data.draw(st.integers(0, n - 1)) for n in (len(rows), *schema.shape[:depth]))
    node: Any = rows
    for k in index[:-1]:
        node = node[k]
    field = "inputs" + "".join(f"[{k}]" for k in index[:-1])
    leaf = depth == len(schema.shape)
    how = data.draw(st.sampled_from(["shorter", "longer", "nest" if leaf else "flatten"]))
    if how == "shorter":
        node.pop()
        words = "entries, got"
    elif how == "longer":
        node.append(node[0])
        words = "entries, got"
    elif how == "flatten":  # a number where a list of entries belongs
        field += f"[{index[-1]}]"
        node[index[-1]] = 0
        words = "expected a list"
    else:  # a list where a number belongs
        field += f"[{index[-1]}]"
        node[index[-1]] = [node[index[-1]]]
        words = "got a list"
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": rows})
    assert err.value.field == field, (how, err.value)
    assert words in err.value.message, (how, err.value.message)


def test_float32_values_that_would_become_infinity_are_refused() -> None:
    schema = TensorSchema((2,), "float32")
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": [[0.0, 1e39]]})
    assert err.value.field == "inputs[0][1]" and "float32" in err.value.message


def test_allow_nan_admits_nan_and_null_but_never_infinity() -> None:
    schema = TensorSchema((3,), "float64", allow_nan=True)
    arr = schema.validate({"inputs": [[float("nan"), None, 1.0]]})
    assert np.isnan(arr[0, :2]).all() and arr[0, 2] == 1.0
    with pytest.raises(InputProblem, match="infinity"):
        schema.validate({"inputs": [[float("-inf"), 0.0, 0.0]]})


# --- schema files -------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(tabular_schemas(), tensor_cases().map(lambda c: c[0])))
def test_schemas_round_trip_through_json_and_yaml(schema: InputSchema) -> None:
    assert InputSchema.from_dict(json.loads(json.dumps(schema.to_dict())), "s.json") == schema
    assert (
        InputSchema.from_dict(yaml.safe_load(yaml.safe_dump(schema.to_dict())), "s.yaml") == schema
    )


def _tabular(**feature: Any) -> dict[str, Any]:
    return {"kind": "tabular", "features": [{"name": "age", "dtype": "int", **feature}]}


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ([], "model.yaml"),
        ({"kind": "image"}, "kind"),
        ({"kind": ["tabular"]}, "kind"),
        ({"kind": "tabular", "features": []}, "features"),
        ({"kind": "tabular", "features": [{"name": "a"}]}, "features[0].dtype"),
        (_tabular(min=5, max=1), "features[0].min"),
        (_tabular(min="0"), "features[0].min"),
        (_tabular(min=True), "features[0].min"),
        (_tabular(max=float("inf")), "features[0].max"),
        (_tabular(allow_nan=True), "features[0].allow_nan"),
        (_tabular(unit="years"), "features[0].unit"),
        (
            {"kind": "tabular", "features": [{"name": "a", "dtype": "bool", "min": 0}]},
            "features[0].min",
        ),
        (
            {
                "kind": "tabular",
                "features": [{"name": "a", "dtype": "float"}, {"name": "a", "dtype": "int"}],
            },
            "features[1].name",
        ),
        ({**_tabular(), "max_rows": 0}, "max_rows"),
        ({**_tabular(), "max_rows": 10**6}, "max_rows"),
        (
            {
                "kind": "tabular",
                "features": [{"name": f"f{k}", "dtype": "float"} for k in range(4097)],
            },
            "features",
        ),
        ({"kind": "tensor", "shape": [1024, 1025], "dtype": "float32"}, "shape"),
        ({"kind": "tensor", "shape": [3, 0], "dtype": "float32"}, "shape[1]"),
        ({"kind": "tensor", "shape": [3], "dtype": "complex64"}, "dtype"),
        ({"kind": "tensor", "shape": [3], "dtype": "int8", "allow_nan": True}, "allow_nan"),
        ({"kind": "tensor", "dtype": "float32"}, "shape"),
    ],
)
def test_bad_schemas_name_the_source_and_the_field(schema: object, field: str) -> None:
    with pytest.raises(UsageError) as err:
        InputSchema.from_dict(schema, "model.yaml")
    subject = err.value.subject
    assert subject == field if field == "model.yaml" else subject == f"model.yaml: {field}"


def test_the_spec_examples_load() -> None:
    tab = InputSchema.from_dict(
        {
            "kind": "tabular",
            "features": [
                {"name": "age", "dtype": "float", "min": 0, "max": 130, "allow_nan": False}
            ],
            "max_rows": 1024,
        },
        "card",
    )
    ten = InputSchema.from_dict(
        {
            "kind": "tensor",
            "shape": [1, 8, 8],
            "dtype": "float32",
            "min": 0.0,
            "max": 1.0,
            "max_rows": 256,
        },
        "card",
    )
    assert tab.row_shape == (1,) and ten.row_shape == (1, 8, 8) and ten.max_rows == 256


# --- inference from data ------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]),
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
)
def test_a_schema_inferred_from_data_admits_that_data(
    dtype: type, shape: list[int], rows: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    example = (rng.normal(size=(rows, *shape)) * 50).astype(dtype)
    if dtype is np.float64 and example.size > 1:
        example.flat[0] = np.nan
    schema = InputSchema.from_model(example)
    assert schema.kind == ("tabular" if len(shape) == 1 else "tensor")
    arr = schema.validate({"inputs": example.tolist()})
    np.testing.assert_array_equal(arr, example.astype(arr.dtype))


def test_inferred_bounds_are_the_data_range() -> None:
    example = np.array([[1.0, 10], [3.0, 20]])
    schema = InputSchema.from_model(example, names=["a", "b"])
    assert schema.to_dict()["features"] == [
        {"name": "a", "dtype": "float", "min": 1.0, "max": 3.0},
        {"name": "b", "dtype": "float", "min": 10.0, "max": 20.0},
    ]
    with pytest.raises(InputProblem) as err:
        schema.validate({"inputs": [{"a": 2.0, "b": 21.0}]})
    assert err.value.field == "inputs[0].b"


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((0, 3)), np.array([["a", "b"]])])
def test_inference_refuses_what_is_not_rows_of_numbers(bad: np.ndarray) -> None:
    with pytest.raises(UsageError):
        InputSchema.from_model(bad)
