"""The error a prediction request gets for a bad input, and how fields are named in it."""

from __future__ import annotations

import json

from mlwarden.errors import MlwardenError


class InputProblem(MlwardenError):
    """A prediction payload does not fit the model's input schema (HTTP 422).

    ``field`` names the exact place, e.g. ``inputs[3].age`` or ``inputs[0][2][5]``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def json_kind(value: object) -> str:
    """How a decoded JSON value is called in messages (``a string``, ``null`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}" if abs(value) < 10**15 else "a very large integer"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def member(path: str, name: str) -> str:
    """``path.name``, or ``path["odd name"]`` when the name is not an identifier."""
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


def expected_phrase(dtype: str) -> str:
    """What a value of ``dtype`` is called: ``a number``, ``an integer``, ``true or false``."""
    if dtype == "bool":
        return "true or false"
    if dtype == "int" or dtype.startswith(("int", "uint")):
        return "an integer"
    return "a number"


def type_message(dtype: str, value: object, allow_nan: bool = False) -> str:
    """The message for a value whose JSON type does not fit ``dtype``."""
    hint = " (null stands for a missing value here)" if allow_nan and value is None else ""
    return f"expected {expected_phrase(dtype)}, got {json_kind(value)}{hint}"


def rows_of(payload: object, max_rows: int) -> list[object]:
    """The ``inputs`` list of a decoded request body, checked for shape and size."""
    if not isinstance(payload, dict):
        raise InputProblem(
            "body", f"expected an object with an 'inputs' list, got {json_kind(payload)}"
        )
    extra = sorted(str(k) for k in payload if k != "inputs")
    if extra:
        raise InputProblem(extra[0], "unknown field; the body holds only 'inputs'")
    if "inputs" not in payload:
        raise InputProblem("inputs", 'missing; send {"inputs": [row, ...]}')
    rows = payload["inputs"]
    if not isinstance(rows, list):
        raise InputProblem("inputs", f"expected a list of rows, got {json_kind(rows)}")
    if not rows:
        raise InputProblem("inputs", "empty; send at least one row")
    if len(rows) > max_rows:
        raise InputProblem(
            "inputs", f"{len(rows)} rows, over this model's limit of {max_rows} per request"
        )
    return rows
