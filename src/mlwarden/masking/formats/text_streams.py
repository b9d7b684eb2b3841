"""Bounded text reading shared by the line-based formats (CSV/TSV, JSON lines, text)."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from mlwarden.errors import UsageError


class TextInput:
    """A UTF-8 input opened for bounded line reading; remembers whether it had a BOM.

    Line endings are returned untranslated so the output can keep the input's.
    """

    def __init__(self, source: Path, binary: BinaryIO) -> None:
        self.source = source
        self.had_bom = binary.read(3) == codecs.BOM_UTF8
        if not self.had_bom:
            binary.seek(0)
        self.stream: TextIO = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        self.line_number = 0

    def read_piece(self, limit: int) -> str:
        """The rest of the current line, at most ``limit`` characters ("" at the end)."""
        try:
            return self.stream.readline(limit)
        except UnicodeDecodeError as exc:
            raise UsageError(
                str(self.source),
                f"near line {self.line_number + 1}: not UTF-8 text ({exc.reason})",
                "convert the file to UTF-8 (e.g. iconv -t UTF-8)",
            ) from None

    def lines(self, limit: int) -> Iterator[str]:
        """Whole lines with their endings; a line longer than ``limit`` is an error."""
        while True:
            line = self.read_piece(limit + 1)
            if not line:
                return
            self.line_number += 1
            if len(line) > limit:
                raise UsageError(
                    str(self.source),
                    f"line {self.line_number} is longer than {limit} characters",
                    "split the file, or check that it is really this format",
                )
            yield line


class TextOutput:
    """A UTF-8 writer over the output file that leaves the file open when done."""

    def __init__(self, sink: BinaryIO, *, bom: bool) -> None:
        self._wrapper = io.TextIOWrapper(sink, encoding="utf-8", newline="")
        self.stream: TextIO = self._wrapper
        if bom:
            self.stream.write("\ufeff")

    def finish(self) -> None:
        """Flush and hand the binary file back to its owner (who fsyncs and closes it)."""
        self._wrapper.flush()
        self._wrapper.detach()


def line_ending(line: str) -> str:
    """The line terminator ``line`` ends with (``\\n`` if none)."""
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith("\r"):
        return "\r"
    return "\n"
