"""A tiny pickle assembler, so hand-crafted opcode streams read like a listing.

Each method appends one opcode (named as in ``pickletools``) and returns the assembler,
so a stream is written as a chain: ``Asm(4).GLOBAL("os", "system").STR("id").TUPLE1()``.
Nothing here validates stack discipline on purpose: the corpus needs malformed streams too.
"""

from __future__ import annotations

import struct
from typing import Self

Literal = (
    str | bytes | int | float | bool | None
    | tuple["Literal", ...] | list["Literal"] | dict[str, "Literal"]
)  # fmt: skip


class Asm:
    """Append-only opcode buffer; ``bytes(asm)`` is the pickle stream."""

    def __init__(self, proto: int | None = None) -> None:
        self.buf = bytearray()
        if proto is not None:
            self.PROTO(proto)

    def __bytes__(self) -> bytes:
        return bytes(self.buf)

    def raw(self, data: bytes) -> Self:
        self.buf += data
        return self

    # -- framing and stack control ---------------------------------------------------------
    def PROTO(self, n: int) -> Self:
        return self.raw(b"\x80" + bytes([n]))

    def FRAME(self, n: int) -> Self:
        return self.raw(b"\x95" + struct.pack("<Q", n))

    def STOP(self) -> Self:
        return self.raw(b".")

    def MARK(self) -> Self:
        return self.raw(b"(")

    def POP(self) -> Self:
        return self.raw(b"0")

    def POP_MARK(self) -> Self:
        return self.raw(b"1")

    def DUP(self) -> Self:
        return self.raw(b"2")

    # -- memo ------------------------------------------------------------------------------
    def PUT(self, i: int) -> Self:
        return self.raw(b"p%d\n" % i)

    def GET(self, i: int) -> Self:
        return self.raw(b"g%d\n" % i)

    def BINPUT(self, i: int) -> Self:
        return self.raw(b"q" + bytes([i]))

    def BINGET(self, i: int) -> Self:
        return self.raw(b"h" + bytes([i]))

    def LONG_BINPUT(self, i: int) -> Self:
        return self.raw(b"r" + struct.pack("<I", i))

    def LONG_BINGET(self, i: int) -> Self:
        return self.raw(b"j" + struct.pack("<I", i))

    def MEMOIZE(self) -> Self:
        return self.raw(b"\x94")

    # -- scalars ---------------------------------------------------------------------------
    def NONE(self) -> Self:
        return self.raw(b"N")

    def NEWTRUE(self) -> Self:
        return self.raw(b"\x88")

    def NEWFALSE(self) -> Self:
        return self.raw(b"\x89")

    def INT(self, n: int) -> Self:
        return self.raw(b"I%d\n" % n)

    def BININT(self, n: int) -> Self:
        if 0 <= n < 256:
            return self.raw(b"K" + bytes([n]))
        if 0 <= n < 65536:
            return self.raw(b"M" + struct.pack("<H", n))
        return self.raw(b"J" + struct.pack("<i", n))

    def STRING(self, s: str) -> Self:
        """Protocol 0 quoted string ``S'...'``; unpickles to ``str`` with the default encoding."""
        return self.raw(b"S" + repr(s).encode("ascii") + b"\n")

    def UNICODE(self, s: str) -> Self:
        """Protocol 0 text string, raw-unicode-escape encoded (so ``\\uXXXX`` may hide names)."""
        return self.raw(b"V" + s.encode("raw-unicode-escape") + b"\n")

    def UNICODE_ESCAPED(self, s: str) -> Self:
        """Protocol 0 text string with *every* character written as ``\\uXXXX``."""
        return self.raw(b"V" + "".join(f"\\u{ord(c):04x}" for c in s).encode() + b"\n")

    def SHORT_BINUNICODE(self, s: str) -> Self:
        data = s.encode()
        return self.raw(b"\x8c" + bytes([len(data)]) + data)

    def BINUNICODE(self, s: str) -> Self:
        data = s.encode()
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def BINUNICODE8(self, s: str) -> Self:
        data = s.encode()
        return self.raw(b"\x8d" + struct.pack("<Q", len(data)) + data)

    def SHORT_BINBYTES(self, b: bytes) -> Self:
        return self.raw(b"C" + bytes([len(b)]) + b)

    def BINBYTES(self, b: bytes) -> Self:
        return self.raw(b"B" + struct.pack("<I", len(b)) + b)

    def STR(self, s: str) -> Self:
        """The shortest binary text opcode for ``s``."""
        return self.SHORT_BINUNICODE(s) if len(s.encode()) < 256 else self.BINUNICODE(s)

    # -- containers ------------------------------------------------------------------------
    def EMPTY_TUPLE(self) -> Self:
        return self.raw(b")")

    def TUPLE(self) -> Self:
        return self.raw(b"t")

    def TUPLE1(self) -> Self:
        return self.raw(b"\x85")

    def TUPLE2(self) -> Self:
        return self.raw(b"\x86")

    def TUPLE3(self) -> Self:
        return self.raw(b"\x87")

    def EMPTY_LIST(self) -> Self:
        return self.raw(b"]")

    def LIST(self) -> Self:
        return self.raw(b"l")

    def APPEND(self) -> Self:
        return self.raw(b"a")

    def APPENDS(self) -> Self:
        return self.raw(b"e")

    def EMPTY_DICT(self) -> Self:
        return self.raw(b"}")

    def DICT(self) -> Self:
        return self.raw(b"d")

    def SETITEM(self) -> Self:
        return self.raw(b"s")

    def SETITEMS(self) -> Self:
        return self.raw(b"u")

    # -- globals and calls -----------------------------------------------------------------
    def GLOBAL(self, module: str, name: str) -> Self:
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def STACK_GLOBAL(self) -> Self:
        return self.raw(b"\x93")

    def INST(self, module: str, name: str) -> Self:
        return self.raw(b"i" + module.encode() + b"\n" + name.encode() + b"\n")

    def OBJ(self) -> Self:
        return self.raw(b"o")

    def REDUCE(self) -> Self:
        return self.raw(b"R")

    def BUILD(self) -> Self:
        return self.raw(b"b")

    def NEWOBJ(self) -> Self:
        return self.raw(b"\x81")

    def NEWOBJ_EX(self) -> Self:
        return self.raw(b"\x92")

    def EXT1(self, code: int) -> Self:
        return self.raw(b"\x82" + bytes([code]))

    # -- higher-level helpers --------------------------------------------------------------
    def push(self, value: Literal) -> Self:
        """Push a literal with binary opcodes (tuples become TUPLEn / MARK..TUPLE)."""
        if value is None:
            return self.NONE()
        if value is True:
            return self.NEWTRUE()
        if value is False:
            return self.NEWFALSE()
        if isinstance(value, int):
            return self.BININT(value)
        if isinstance(value, float):
            return self.raw(b"G" + struct.pack(">d", value))
        if isinstance(value, str):
            return self.STR(value)
        if isinstance(value, bytes):
            return self.SHORT_BINBYTES(value) if len(value) < 256 else self.BINBYTES(value)
        if isinstance(value, list):
            self.EMPTY_LIST()
            if value:
                self.MARK()
                for item in value:
                    self.push(item)
                self.APPENDS()
            return self
        if isinstance(value, dict):
            self.EMPTY_DICT()
            if value:
                self.MARK()
                for k, v in value.items():
                    self.push(k).push(v)
                self.SETITEMS()
            return self
        return self.tuple(*value)

    def tuple(self, *items: Literal) -> Self:
        if not items:
            return self.EMPTY_TUPLE()
        if len(items) <= 3:
            for item in items:
                self.push(item)
            return [self.TUPLE1, self.TUPLE2, self.TUPLE3][len(items) - 1]()
        self.MARK()
        for item in items:
            self.push(item)
        return self.TUPLE()

    def sglobal(self, module: str, name: str) -> Self:
        """Protocol 4 style import: two strings then STACK_GLOBAL."""
        return self.STR(module).STR(name).STACK_GLOBAL()

    def call(self, module: str, name: str, *args: Literal) -> Self:
        """``module.name(*args)`` via STACK_GLOBAL + REDUCE; leaves the result on the stack."""
        return self.sglobal(module, name).tuple(*args).REDUCE()
