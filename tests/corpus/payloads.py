"""What every malicious sample does when loaded: create the marker file, nothing else."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Payload:
    """The marker-touching action in the forms the different gadgets need."""

    marker: Path

    @property
    def path(self) -> str:
        return str(self.marker)

    @property
    def cmd(self) -> str:
        """A shell command line."""
        return f"touch {shlex.quote(self.path)}"

    @property
    def argv(self) -> list[str]:
        """An argv list for exec-style APIs (no shell)."""
        return ["touch", self.path]

    @property
    def code(self) -> str:
        """Python source with the same effect."""
        return f"open({self.path!r}, 'w').close()"


class Call:
    """Pickles as ``fn(*args)``: the ``__reduce__`` gadget every attacker starts from.

    Only the callable and its arguments reach the stream, never this class, so unpickling
    does not need this module.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)
