"""Where joblib puts array bytes inside its pickle stream.

``joblib.dump`` writes each NumPy array as a ``NumpyArrayWrapper`` object followed, right
after that object's BUILD opcode, by the array's raw bytes (optionally preceded by one
padding-length byte and that much padding), or, for object arrays, by a whole nested pickle.
The unpickler resumes after them. A static reader must skip exactly those bytes to find the
opcodes (and payloads) that follow.
"""

from __future__ import annotations

import math
import re

from mlwarden.scanners.model.pickle_vm import Call, Global, PDict

_WRAPPER_MODULES = frozenset({"joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle"})
_CHAR_SIZES = {
    "?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
    "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "p": 8, "P": 8,
}  # fmt: skip
_DESCR = re.compile(r"^[<>|=]?([a-zA-Z?])(\d*)(?:\[.*\])?$")
NESTED_PICKLE = -1


def is_array_wrapper(obj: Call) -> bool:
    callee = obj.callee
    return (
        isinstance(callee, Global)
        and callee.name == "NumpyArrayWrapper"
        and callee.module in _WRAPPER_MODULES
    )


def _itemsize(dtype: object) -> int | None:
    """Bytes per element of a pickled ``numpy.dtype(...)`` call; NESTED_PICKLE for objects."""
    if not isinstance(dtype, Call) or not isinstance(dtype.args, tuple) or not dtype.args:
        return None
    descr = dtype.args[0]
    if not isinstance(descr, str):
        return None
    state = dtype.state
    # The dtype's pickled state carries its element size for flexible and structured types.
    if isinstance(state, tuple) and len(state) >= 6 and isinstance(state[5], int) and state[5] > 0:
        return state[5]
    m = _DESCR.match(descr)
    if m is None:
        return None
    kind, digits = m.group(1), m.group(2)
    if kind == "O":
        return NESTED_PICKLE
    if digits:
        size = int(digits)
        return size * 4 if kind == "U" else size
    if kind in ("M", "m"):
        return 8
    return _CHAR_SIZES.get(kind)


def array_bytes_after_build(obj: Call, state: object, data: memoryview, pos: int) -> int | None:
    """Bytes joblib reads from the stream after this wrapper's BUILD.

    Returns :data:`NESTED_PICKLE` when a nested pickle follows, or None when ``obj`` is not
    a wrapper or its layout cannot be worked out (the stream is then read on as opcodes).
    """
    if not is_array_wrapper(obj) or not isinstance(state, PDict):
        return None
    itemsize = _itemsize(state.get("dtype"))
    shape = state.get("shape")
    if itemsize is None or not isinstance(shape, tuple):
        return None
    if itemsize == NESTED_PICKLE:
        return NESTED_PICKLE
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        return None
    count = math.prod(shape) if shape else 1
    skip = count * itemsize
    if state.get("numpy_array_alignment_bytes") is not None:
        if pos >= len(data):
            return None
        skip += 1 + data[pos]
    return skip
