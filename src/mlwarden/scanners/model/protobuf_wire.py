"""A bounded reader of the protobuf wire format, for ONNX and TensorFlow files.

It knows nothing of any schema: it yields each field's number, wire type and value (an
integer, or the span of a length-delimited payload) so that scanners pick the fields they
need and skip the rest. Payloads are never copied (tensors stay where they are in the
mapped file), nesting is bounded, groups are rejected (no model format uses them), and
anything that runs past its enclosing message raises :class:`MalformedInput`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from mlwarden.scanners.base import Budget, LimitExceeded, MalformedInput

VARINT = 0
I64 = 1
LEN = 2
I32 = 5
_MAX_FIELD = (1 << 29) - 1
_TIME_CHECK_EVERY = 4096


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message. ``value`` is the number for scalar wire types; for
    length-delimited fields ``start``/``end`` delimit the payload in the buffer."""

    number: int
    wire_type: int
    value: int
    start: int
    end: int


def read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise MalformedInput(f"protobuf varint truncated at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise MalformedInput(f"protobuf varint longer than 10 bytes at byte {pos}")


class Message:
    """A view of one message: a span of the buffer at a nesting depth.

    ``budget`` (optional) bounds wall-clock time; ``max_depth`` bounds nesting through
    :meth:`sub`.
    """

    __slots__ = ("budget", "buf", "depth", "end", "max_depth", "start")

    def __init__(
        self,
        buf: memoryview,
        start: int = 0,
        end: int | None = None,
        *,
        depth: int = 0,
        max_depth: int = 64,
        budget: Budget | None = None,
    ) -> None:
        self.buf = buf
        self.start = start
        self.end = len(buf) if end is None else end
        self.depth = depth
        self.max_depth = max_depth
        self.budget = budget
        if not 0 <= self.start <= self.end <= len(buf):
            raise MalformedInput(f"protobuf message span {start}..{end} is out of bounds")

    def fields(self) -> Iterator[Field]:
        """Every field in order; raises MalformedInput on any structural error."""
        buf, pos, end = self.buf, self.start, self.end
        count = 0
        while pos < end:
            count += 1
            if self.budget is not None and count % _TIME_CHECK_EVERY == 0:
                self.budget.check_time()
            at = pos
            key, pos = read_varint(buf, pos, end)
            number, wire_type = key >> 3, key & 7
            if number == 0 or number > _MAX_FIELD:
                raise MalformedInput(f"protobuf field number {number} is invalid at byte {at}")
            if wire_type == VARINT:
                value, pos = read_varint(buf, pos, end)
                yield Field(number, wire_type, value, at, pos)
            elif wire_type == LEN:
                length, pos = read_varint(buf, pos, end)
                if length > end - pos:
                    raise MalformedInput(
                        f"protobuf field {number} at byte {at} claims {length} bytes; "
                        f"only {end - pos} remain in its message"
                    )
                yield Field(number, wire_type, length, pos, pos + length)
                pos += length
            elif wire_type in (I64, I32):
                size = 8 if wire_type == I64 else 4
                if size > end - pos:
                    raise MalformedInput(f"protobuf fixed-width field truncated at byte {at}")
                fmt = "<Q" if size == 8 else "<I"
                (value,) = struct.unpack_from(fmt, buf, pos)
                yield Field(number, wire_type, value, pos, pos + size)
                pos += size
            else:
                raise MalformedInput(
                    f"protobuf wire type {wire_type} (groups or invalid) at byte {at}"
                )

    def sub(self, field: Field) -> Message:
        """The embedded message carried by a length-delimited ``field``."""
        if field.wire_type != LEN:
            raise MalformedInput(
                f"protobuf field {field.number} should be a message but has wire type "
                f"{field.wire_type}"
            )
        if self.depth + 1 > self.max_depth:
            raise LimitExceeded(
                "protobuf message nesting",
                self.max_depth,
                "raise limits.max_nesting if the model is trusted to nest this deeply",
            )
        return Message(
            self.buf,
            field.start,
            field.end,
            depth=self.depth + 1,
            max_depth=self.max_depth,
            budget=self.budget,
        )

    def text(self, field: Field, limit: int = 1 << 20) -> str:
        """A string field, decoded leniently and cut at ``limit`` bytes (for evidence)."""
        if field.wire_type != LEN:
            raise MalformedInput(f"protobuf field {field.number} should be a string")
        stop = min(field.end, field.start + limit)
        return bytes(self.buf[field.start : stop]).decode("utf-8", "replace")
