"""Text decoded from a buffer (usually an ``mmap``) piece by piece, with bounded lines.

Nothing here reads the whole file into memory: a :class:`BufferStream` hands out slices of
the buffer, :mod:`io` decodes them in 1 MiB steps, and :func:`bounded_lines` never holds
more than one line, itself capped; longer lines are skipped and counted.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass

from mlwarden.scanners.base import Buffer

_READ_SIZE = 1 << 20
_SNIFF_BYTES = 64 * 1024
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class BufferStream(io.RawIOBase):
    """A read-only raw stream over a buffer; reads copy only the slice asked for."""

    def __init__(self, data: Buffer) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._view) - self._pos)
        target[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        # Drop the view first: an mmap with exported views cannot be closed by its owner.
        self._view.release()
        super().close()


def guess_encoding(head: bytes) -> str:
    """The encoding of a text file from its first bytes: a BOM, else UTF-8 if the start
    decodes as UTF-8, else cp1252 (undecodable bytes then read as U+FFFD)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head[:_SNIFF_BYTES], final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def open_text(data: Buffer, encoding: str | None = None) -> io.TextIOWrapper:
    """A text stream over ``data``; ``newline=""`` keeps line endings for the csv module."""
    if encoding is None:
        encoding = guess_encoding(bytes(memoryview(data)[:_SNIFF_BYTES]))
    raw = io.BufferedReader(BufferStream(data), buffer_size=_READ_SIZE)
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


def sample_text(data: Buffer, size: int = _SNIFF_BYTES) -> str:
    """The decoded start of ``data`` (for sniffing formats, delimiters and headers)."""
    head = bytes(memoryview(data)[:size])
    encoding = guess_encoding(head)
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


@dataclass
class LineStats:
    """Lines read and lines skipped by :func:`bounded_lines`."""

    lines: int = 0
    overlong: int = 0
    first_overlong: int | None = None


def bounded_lines(stream: io.TextIOWrapper, max_chars: int, stats: LineStats) -> Iterator[str]:
    """Lines of ``stream`` with their endings; lines over ``max_chars`` are skipped whole."""
    readline = stream.readline
    while True:
        line = readline(max_chars)
        if not line:
            return
        stats.lines += 1
        if len(line) >= max_chars and not line.endswith(("\n", "\r")):
            stats.overlong += 1
            if stats.first_overlong is None:
                stats.first_overlong = stats.lines
            while True:  # drop the rest of the line, one bounded piece at a time
                rest = readline(max_chars)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            continue
        yield line


def text_chunks(stream: io.TextIOWrapper, chunk_chars: int) -> Iterator[str]:
    """Pieces of about ``chunk_chars`` characters, cut after a newline when there is one
    (so a value is not split between pieces), else after whitespace, else anywhere."""
    carry = ""
    while True:
        piece = stream.read(chunk_chars)
        if not piece:
            if carry:
                yield carry
            return
        text = carry + piece
        cut = text.rfind("\n") + 1
        if cut <= 0:
            cut = max(text.rfind(" "), text.rfind("\t")) + 1
        if cut <= len(text) // 2:
            cut = len(text)  # no good cut point: a value may be split, the text is bounded
        carry = text[cut:]
        yield text[:cut]
