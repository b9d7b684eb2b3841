"""PyTorch networks built from a small declared spec, so a served model's file only ever
supplies weights, never code.

Specs (one JSON/YAML mapping, kept on the model card)::

    {"arch": "mlp", "layers": [64, 32, 10], "activation": "relu"}
    {"arch": "cnn", "in_channels": 1, "channels": [8, 16], "num_classes": 10,
     "input_hw": [8, 8], "kernel_size": 3}

An ``mlp`` flattens each row and applies ``Linear`` layers of the listed widths (the last is
the number of outputs) with the activation between them. A ``cnn`` applies, per entry of
``channels``, a padded ``Conv2d``, ``ReLU`` and ``MaxPool2d(2)``, then a ``Linear`` layer to
``num_classes``. Both accept an optional ``classes`` list naming the outputs. Train with the
module :func:`build_module` returns and save its ``state_dict()``: that is the layout the
server loads, key for key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from torch import nn

_SUBJECT = "architecture"
_MLP_KEYS = frozenset({"arch", "layers", "activation", "classes"})
_CNN_KEYS = frozenset(
    {"arch", "in_channels", "channels", "num_classes", "input_hw", "kernel_size", "classes"}
)
_ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid")
_MAX_WIDTH = 65_536
_MAX_LAYERS = 16


@dataclass(frozen=True)
class Network:
    """A built module with the shape its input must take and the names of its outputs."""

    module: nn.Module
    input_shape: tuple[int, ...]
    """Per-row shape the module is called with (rows are reshaped to it)."""
    classes: list[int | str | float] | None


def _error(key: str, problem: str, fix: str = "see mlwarden.gateway.torch_arch") -> UsageError:
    return UsageError(f"{_SUBJECT}.{key}" if key else _SUBJECT, problem, fix)


def _int(spec: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _error(key, f"{value!r} is not an integer in {low}..{high}")
    return value


def _ints(spec: dict[str, Any], key: str, length: tuple[int, int], high: int) -> list[int]:
    values = spec.get(key)
    if not isinstance(values, list) or not length[0] <= len(values) <= length[1]:
        raise _error(key, f"expected a list of {length[0]} to {length[1]} integers")
    for k, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise _error(f"{key}[{k}]", f"{value!r} is not an integer in 1..{high}")
    return list(values)


def _classes(spec: dict[str, Any], outputs: int) -> list[int | str | float] | None:
    classes = spec.get("classes")
    if classes is None:
        return None
    if not isinstance(classes, list) or len(classes) != outputs:
        raise _error("classes", f"expected a list of {outputs} labels, one per output")
    if not all(isinstance(c, int | str | float) and not isinstance(c, bool) for c in classes):
        raise _error("classes", "labels must be strings or numbers")
    return list(classes)


def build_module(spec: object, row_shape: tuple[int, ...]) -> Network:
    """Build the declared network for rows of ``row_shape`` (weights freshly initialised)."""
    if not isinstance(spec, dict):
        raise _error("", "expected a mapping such as {'arch': 'mlp', 'layers': [64, 10]}")
    arch = spec.get("arch")
    keys = {"mlp": _MLP_KEYS, "cnn": _CNN_KEYS}.get(str(arch))
    if keys is None:
        raise _error("arch", f"{arch!r} is not one of mlp, cnn")
    unknown = sorted(str(k) for k in spec if k not in keys)
    if unknown:
        raise _error(unknown[0], "unknown key", f"use only {', '.join(sorted(keys))}")
    return _mlp(spec, row_shape) if arch == "mlp" else _cnn(spec, row_shape)


def _mlp(spec: dict[str, Any], row_shape: tuple[int, ...]) -> Network:
    from torch import nn

    widths = _ints(spec, "layers", (1, _MAX_LAYERS), _MAX_WIDTH)
    activation = spec.get("activation", "relu")
    if activation not in _ACTIVATIONS:
        raise _error("activation", f"{activation!r} is not one of {', '.join(_ACTIVATIONS)}")
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid}[activation]
    layers: list[nn.Module] = []
    width = math.prod(row_shape)
    for k, out in enumerate(widths):
        if k:
            layers.append(act())
        layers.append(nn.Linear(width, out))
        width = out
    return Network(nn.Sequential(*layers), (math.prod(row_shape),), _classes(spec, widths[-1]))


def _cnn(spec: dict[str, Any], row_shape: tuple[int, ...]) -> Network:
    from torch import nn

    in_channels = _int(spec, "in_channels", 1, 1024)
    channels = _ints(spec, "channels", (1, 8), 4096)
    num_classes = _int(spec, "num_classes", 1, _MAX_WIDTH)
    height, width = _ints(spec, "input_hw", (2, 2), 8192)
    kernel = _int(spec, "kernel_size", 1, 7, default=3)
    if kernel % 2 == 0:
        raise _error("kernel_size", f"{kernel} is even", "use an odd kernel size")
    if math.prod(row_shape) != in_channels * height * width:
        raise _error(
            "input_hw",
            f"{in_channels}x{height}x{width} does not match the input schema's rows {row_shape}",
            "declare in_channels and input_hw to match the schema's shape",
        )
    layers: list[nn.Module] = []
    previous = in_channels
    for out in channels:
        layers += [nn.Conv2d(previous, out, kernel, padding=kernel // 2), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        previous, height, width = out, height // 2, width // 2
        if height < 1 or width < 1:
            raise _error("channels", "too many pooling blocks for input_hw", "use fewer channels")
    layers += [nn.Flatten(), nn.Linear(previous * height * width, num_classes)]
    shape = (in_channels, *(int(v) for v in spec["input_hw"]))
    return Network(nn.Sequential(*layers), shape, _classes(spec, num_classes))
