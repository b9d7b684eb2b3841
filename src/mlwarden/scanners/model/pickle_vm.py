"""An abstract interpreter of the pickle machine.

It decodes a pickle stream opcode by opcode exactly as CPython's unpickler reads it, and
models the stack and memo with abstract values instead of real objects, so it learns every
callable the stream would import (GLOBAL, STACK_GLOBAL, INST, EXT*) and every call it would
make (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD), without importing or calling anything.

A pickle is straight-line code (no jumps), so one pass sees every instruction the real
unpickler would execute. The abstract values only matter where the stream computes names or
callables: STACK_GLOBAL names taken from the stack or memo, calls of computed callables,
state set on imported objects.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from mlwarden.limits import Limits


class PickleError(Exception):
    """The stream breaks the pickle format (the real unpickler would stop here too)."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(f"{message} at byte {offset}")


class PickleLimit(Exception):
    """A resource limit was reached while interpreting."""

    def __init__(self, what: str, limit: int, offset: int) -> None:
        self.what = what
        self.limit = limit
        self.offset = offset
        super().__init__(f"{what} exceeded (limit {limit}) at byte {offset}")


# ---------------------------------------------------------------- abstract values


@dataclass(eq=False)
class Global:
    """A callable or object the unpickler imports: ``module`` and (possibly dotted) ``name``."""

    module: str
    name: str
    offset: int
    opcode: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Call:
    """The result of calling ``callee`` (REDUCE, NEWOBJ, OBJ, INST)."""

    callee: object
    args: object
    offset: int
    state: object = None


@dataclass(eq=False)
class Opaque:
    """A value the interpreter cannot know (persistent id, extension, out-of-band buffer)."""

    what: str


@dataclass(eq=False)
class Blank:
    """A string or bytes constant too long to keep; only its length is recorded."""

    kind: str
    length: int
    offset: int
    """Where the raw bytes start in the stream (nested loaders scan them from there)."""


@dataclass(eq=False)
class PDict:
    """An abstract dict: a list of (key, value) pairs (keys may be unhashable values)."""

    items: list[tuple[object, object]] = field(default_factory=list)

    def get(self, key: str) -> object:
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(eq=False)
class PSet:
    items: list[object] = field(default_factory=list)
    frozen: bool = False


class _Mark:
    __slots__ = ()


MARK = _Mark()
KEEP_CHARS = 65_536
"""Strings and bytes longer than this are replaced by :class:`Blank` (never names)."""


@dataclass
class Event:
    """Something the stream does that the security policy judges."""

    kind: str
    """``global`` (an import), ``call``, ``build-on-global``, ``computed-call``,
    ``computed-global``, ``extension``."""
    offset: int
    target: Global | None = None
    detail: str = ""
    args: object = None


@dataclass
class Trace:
    """What one pickle (from PROTO or first opcode to STOP) would do."""

    start: int
    end: int = 0
    """Offset just past STOP (or where interpretation stopped)."""
    protocol: int = 0
    opcodes: int = 0
    events: list[Event] = field(default_factory=list)
    error: PickleError | None = None
    limit: PickleLimit | None = None
    result: object = None
    """The abstract value STOP returned."""
    data_skips: list[tuple[int, int]] = field(default_factory=list)
    """Byte ranges of raw array data that a joblib loader reads between opcodes."""
    nested: list[Trace] = field(default_factory=list)
    """Pickles a joblib loader reads in the middle of this one (object arrays)."""


# Hook: called at BUILD with (obj, state, offset); returns bytes the loader reads from the
# stream after this opcode (raw data to skip), or -1 when a nested pickle follows.
BuildHook = Callable[[Call, object, int], int | None]


class PickleMachine:
    """Interprets one pickle starting at ``start`` in ``data``."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        start: int,
        limits: Limits,
        build_hook: BuildHook | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.buf = memoryview(data)
        self.end_of_data = min(len(self.buf), start + limits.max_pickle_bytes)
        self.pos = start
        self.limits = limits
        self.build_hook = build_hook
        self.tick = tick
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.trace = Trace(start=start)

    # ------------------------------------------------------------ reading

    def _take(self, n: int) -> memoryview:
        p = self.pos
        if n < 0 or p + n > self.end_of_data:
            if p + n > len(self.buf):
                raise PickleError("truncated data", p)
            raise PickleLimit("pickle size", self.limits.max_pickle_bytes, p)
        self.pos = p + n
        return self.buf[p : p + n]

    def _line(self) -> bytes:
        # CPython accepts text arguments of any length, so none is capped here either
        # (being stricter than the unpickler would let a long line hide what follows).
        buf = self.buf
        p = self.pos
        i = p
        while i < self.end_of_data:
            chunk = bytes(buf[i : min(i + 65_536, self.end_of_data)])
            nl = chunk.find(b"\n")
            if nl >= 0:
                self.pos = i + nl + 1
                return bytes(buf[p : i + nl])
            i += len(chunk)
        raise PickleError("unterminated text argument", p)

    def _u8(self) -> int:
        return self._take(1)[0]

    def _u16(self) -> int:
        return int(struct.unpack("<H", self._take(2))[0])

    def _i32(self) -> int:
        return int(struct.unpack("<i", self._take(4))[0])

    def _u32(self) -> int:
        return int(struct.unpack("<I", self._take(4))[0])

    def _u64(self) -> int:
        return int(struct.unpack("<Q", self._take(8))[0])

    def _text(self, n: int) -> object:
        if n > KEEP_CHARS * 4:
            self._take(n)
            return Blank("str", n, self.pos - n)
        raw = self._take(n)
        try:
            return bytes(raw).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise PickleError("invalid UTF-8 in string", self.pos - n) from None

    def _bytes(self, n: int) -> object:
        raw = self._take(n)
        return bytes(raw) if n <= KEEP_CHARS else Blank("bytes", n, self.pos - n)

    # ------------------------------------------------------------ stack

    def _push(self, value: object) -> None:
        self.stack.append(value)
        if len(self.stack) > self.limits.max_stack:
            raise PickleLimit("stack size", self.limits.max_stack, self.pos)

    def _pop(self, at: int) -> object:
        if not self.stack:
            raise PickleError("stack underflow", at)
        return self.stack.pop()

    def _top(self, at: int) -> object:
        if not self.stack:
            raise PickleError("stack underflow", at)
        return self.stack[-1]

    def _pop_mark(self, at: int) -> list[object]:
        if not self.metastack:
            raise PickleError("no MARK on the stack", at)
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _memo_put(self, key: int, at: int) -> None:
        if key < 0:
            raise PickleError("negative memo key", at)
        self.memo[key] = self._top(at)
        if len(self.memo) > self.limits.max_memo:
            raise PickleLimit("memo size", self.limits.max_memo, at)

    def _memo_get(self, key: int, at: int) -> None:
        if key not in self.memo:
            raise PickleError(f"memo key {key} was never stored", at)
        self._push(self.memo[key])

    def _event(self, kind: str, at: int, target: Global | None = None, **kw: object) -> None:
        self.trace.events.append(Event(kind, at, target, str(kw.get("detail", "")), kw.get("args")))

    # ------------------------------------------------------------ main loop

    def run(self) -> Trace:
        """Interpret until STOP; errors and limits are recorded in the returned trace."""
        try:
            self._run()
        except PickleError as exc:
            self.trace.error = exc
        except PickleLimit as exc:
            self.trace.limit = exc
        self.trace.end = self.pos
        return self.trace

    def _run(self) -> None:
        max_ops = self.limits.max_opcodes
        handlers = _HANDLERS
        trace = self.trace
        buf = self.buf
        while True:
            at = self.pos
            if at >= self.end_of_data:
                if at >= len(buf):
                    raise PickleError("stream ends without STOP", at)
                raise PickleLimit("pickle size", self.limits.max_pickle_bytes, at)
            code = buf[at]
            self.pos = at + 1
            trace.opcodes += 1
            if trace.opcodes > max_ops:
                raise PickleLimit("opcode count", max_ops, at)
            if self.tick is not None and trace.opcodes & 0xFFFF == 0:
                self.tick()
            handler = handlers[code]
            if handler is None:
                raise PickleError(f"invalid opcode 0x{code:02x}", at)
            if handler(self, at):
                return

    # ------------------------------------------------------------ opcode handlers
    # Each returns True only for STOP.

    def op_proto(self, at: int) -> bool:
        proto = self._u8()
        if proto > 5:
            raise PickleError(f"unsupported pickle protocol {proto}", at)
        self.trace.protocol = proto
        return False

    def op_stop(self, at: int) -> bool:
        self.trace.result = self._pop(at)
        return True

    def op_frame(self, at: int) -> bool:
        self._u64()  # frames only batch reads; opcodes continue linearly
        return False

    def op_mark(self, at: int) -> bool:
        self.metastack.append(self.stack)
        self.stack = []
        if len(self.metastack) > self.limits.max_nesting:
            raise PickleLimit("MARK nesting", self.limits.max_nesting, at)
        return False

    def op_pop(self, at: int) -> bool:
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark(at)
        return False

    def op_pop_mark(self, at: int) -> bool:
        self._pop_mark(at)
        return False

    def op_dup(self, at: int) -> bool:
        self._push(self._top(at))
        return False

    # -- constants
    def op_none(self, at: int) -> bool:
        self._push(None)
        return False

    def op_newtrue(self, at: int) -> bool:
        self._push(True)
        return False

    def op_newfalse(self, at: int) -> bool:
        self._push(False)
        return False

    def op_int(self, at: int) -> bool:
        line = self._line()
        if line == b"00":
            self._push(False)
        elif line == b"01":
            self._push(True)
        else:
            self._push(_parse_int(line, at))
        return False

    def op_long(self, at: int) -> bool:
        line = self._line()
        self._push(_parse_int(line[:-1] if line.endswith(b"L") else line, at))
        return False

    def op_binint(self, at: int) -> bool:
        self._push(self._i32())
        return False

    def op_binint1(self, at: int) -> bool:
        self._push(self._u8())
        return False

    def op_binint2(self, at: int) -> bool:
        self._push(self._u16())
        return False

    def op_long1(self, at: int) -> bool:
        n = self._u8()
        self._push(int.from_bytes(self._take(n), "little", signed=True))
        return False

    def op_long4(self, at: int) -> bool:
        n = self._i32()
        if n < 0:
            raise PickleError("negative LONG4 length", at)
        raw = self._take(n)
        self._push(int.from_bytes(raw, "little", signed=True) if n <= 64 else Blank("int", n, at))
        return False

    def op_float(self, at: int) -> bool:
        line = self._line()
        try:
            self._push(float(line))
        except ValueError:
            raise PickleError("invalid FLOAT", at) from None
        return False

    def op_binfloat(self, at: int) -> bool:
        self._push(struct.unpack(">d", self._take(8))[0])
        return False

    # -- strings and bytes
    def op_string(self, at: int) -> bool:
        line = self._line()
        if len(line) < 2 or line[0] != line[-1] or line[0] not in b"'\"":
            raise PickleError("STRING argument is not quoted", at)
        self._push(_unescape(line[1:-1]))
        return False

    def op_binstring(self, at: int) -> bool:
        n = self._i32()
        if n < 0:
            raise PickleError("negative BINSTRING length", at)
        value = self._bytes(n)
        self._push(value.decode("latin-1") if isinstance(value, bytes) else value)
        return False

    def op_short_binstring(self, at: int) -> bool:
        value = self._bytes(self._u8())
        self._push(value.decode("latin-1") if isinstance(value, bytes) else value)
        return False

    def op_unicode(self, at: int) -> bool:
        line = self._line()
        self._push(line.decode("raw-unicode-escape", "replace"))
        return False

    def op_binunicode(self, at: int) -> bool:
        self._push(self._text(self._u32()))
        return False

    def op_short_binunicode(self, at: int) -> bool:
        self._push(self._text(self._u8()))
        return False

    def op_binunicode8(self, at: int) -> bool:
        self._push(self._text(self._u64()))
        return False

    def op_binbytes(self, at: int) -> bool:
        self._push(self._bytes(self._u32()))
        return False

    def op_short_binbytes(self, at: int) -> bool:
        self._push(self._bytes(self._u8()))
        return False

    def op_binbytes8(self, at: int) -> bool:
        self._push(self._bytes(self._u64()))
        return False

    def op_bytearray8(self, at: int) -> bool:
        self._push(self._bytes(self._u64()))
        return False

    def op_next_buffer(self, at: int) -> bool:
        self._push(Opaque("out-of-band buffer"))
        return False

    def op_readonly_buffer(self, at: int) -> bool:
        self._top(at)
        return False

    # -- containers
    def op_empty_tuple(self, at: int) -> bool:
        self._push(())
        return False

    def op_tuple(self, at: int) -> bool:
        self._push(tuple(self._pop_mark(at)))
        return False

    def op_tuple1(self, at: int) -> bool:
        self._push((self._pop(at),))
        return False

    def op_tuple2(self, at: int) -> bool:
        b = self._pop(at)
        a = self._pop(at)
        self._push((a, b))
        return False

    def op_tuple3(self, at: int) -> bool:
        c = self._pop(at)
        b = self._pop(at)
        a = self._pop(at)
        self._push((a, b, c))
        return False

    def op_empty_list(self, at: int) -> bool:
        self._push([])
        return False

    def op_list(self, at: int) -> bool:
        self._push(list(self._pop_mark(at)))
        return False

    def op_append(self, at: int) -> bool:
        value = self._pop(at)
        target = self._top(at)
        if isinstance(target, list):
            target.append(value)
        else:
            self._note_mutation(target, value, at)
        return False

    def op_appends(self, at: int) -> bool:
        items = self._pop_mark(at)
        target = self._top(at)
        if isinstance(target, list):
            target.extend(items)
        else:
            self._note_mutation(target, items, at)
        return False

    def op_empty_dict(self, at: int) -> bool:
        self._push(PDict())
        return False

    def op_dict(self, at: int) -> bool:
        items = self._pop_mark(at)
        if len(items) % 2:
            raise PickleError("odd number of items for DICT", at)
        self._push(PDict(list(zip(items[::2], items[1::2], strict=True))))
        return False

    def op_setitem(self, at: int) -> bool:
        value = self._pop(at)
        key = self._pop(at)
        target = self._top(at)
        if isinstance(target, PDict):
            target.items.append((key, value))
        else:
            self._note_mutation(target, (key, value), at)
        return False

    def op_setitems(self, at: int) -> bool:
        items = self._pop_mark(at)
        if len(items) % 2:
            raise PickleError("odd number of items for SETITEMS", at)
        target = self._top(at)
        if isinstance(target, PDict):
            target.items.extend(zip(items[::2], items[1::2], strict=True))
        else:
            self._note_mutation(target, items, at)
        return False

    def op_empty_set(self, at: int) -> bool:
        self._push(PSet())
        return False

    def op_additems(self, at: int) -> bool:
        items = self._pop_mark(at)
        target = self._top(at)
        if isinstance(target, PSet):
            target.items.extend(items)
        else:
            self._note_mutation(target, items, at)
        return False

    def op_frozenset(self, at: int) -> bool:
        self._push(PSet(self._pop_mark(at), frozen=True))
        return False

    def _note_mutation(self, target: object, value: object, at: int) -> None:
        # APPEND/SETITEM on a non-container calls the object's own append/__setitem__/add:
        # on an imported object that is a call of its method with attacker data.
        if isinstance(target, Global):
            self._event("build-on-global", at, target, detail="item added to an imported object")

    # -- memo
    def op_put(self, at: int) -> bool:
        self._memo_put(_parse_int(self._line(), at), at)
        return False

    def op_binput(self, at: int) -> bool:
        self._memo_put(self._u8(), at)
        return False

    def op_long_binput(self, at: int) -> bool:
        self._memo_put(self._u32(), at)
        return False

    def op_memoize(self, at: int) -> bool:
        self._memo_put(len(self.memo), at)
        return False

    def op_get(self, at: int) -> bool:
        self._memo_get(_parse_int(self._line(), at), at)
        return False

    def op_binget(self, at: int) -> bool:
        self._memo_get(self._u8(), at)
        return False

    def op_long_binget(self, at: int) -> bool:
        self._memo_get(self._u32(), at)
        return False

    # -- imports and calls
    def _global(self, module: str, name: str, at: int, opcode: str) -> Global:
        ref = Global(module, name, at, opcode)
        self._event("global", at, ref)
        return ref

    def op_global(self, at: int) -> bool:
        module = self._line().decode("utf-8", "replace")
        name = self._line().decode("utf-8", "replace")
        self._push(self._global(module, name, at, "GLOBAL"))
        return False

    def op_stack_global(self, at: int) -> bool:
        name = self._pop(at)
        module = self._pop(at)
        if isinstance(module, str) and isinstance(name, str):
            self._push(self._global(module, name, at, "STACK_GLOBAL"))
        else:
            self._event(
                "computed-global",
                at,
                detail=f"module {describe_value(module)}, name {describe_value(name)}",
            )
            self._push(Global(describe_value(module), describe_value(name), at, "STACK_GLOBAL"))
        return False

    def op_inst(self, at: int) -> bool:
        module = self._line().decode("utf-8", "replace")
        name = self._line().decode("utf-8", "replace")
        args = tuple(self._pop_mark(at))
        cls = self._global(module, name, at, "INST")
        self._call(cls, args, at)
        return False

    def op_obj(self, at: int) -> bool:
        items = self._pop_mark(at)
        if not items:
            raise PickleError("OBJ without a class", at)
        self._call(items[0], tuple(items[1:]), at)
        return False

    def op_reduce(self, at: int) -> bool:
        args = self._pop(at)
        callee = self._pop(at)
        self._call(callee, args, at)
        return False

    def op_newobj(self, at: int) -> bool:
        args = self._pop(at)
        cls = self._pop(at)
        self._call(cls, args, at)
        return False

    def op_newobj_ex(self, at: int) -> bool:
        kwargs = self._pop(at)
        args = self._pop(at)
        cls = self._pop(at)
        self._call(cls, (args, kwargs), at)
        return False

    def _call(self, callee: object, args: object, at: int) -> None:
        if isinstance(callee, Global):
            self._event("call", at, callee, args=args)
        else:
            self._event("computed-call", at, detail=f"callee is {describe_value(callee)}")
        self._push(Call(callee, args, at))

    def op_build(self, at: int) -> bool:
        state = self._pop(at)
        target = self._top(at)
        if isinstance(target, Global):
            # Setting state on a class, function or module rewrites what later code runs.
            self._event("build-on-global", at, target, detail="BUILD applied to an imported object")
        elif isinstance(target, Call):
            target.state = state
            if self.build_hook is not None:
                skip = self.build_hook(target, state, self.pos)
                if skip is not None:
                    self._after_build(skip, at)
        elif not isinstance(target, Opaque):
            self._event("computed-call", at, detail=f"BUILD on {describe_value(target)}")
        return False

    def _after_build(self, skip: int, at: int) -> None:
        if skip >= 0:
            if self.pos + skip > len(self.buf):
                raise PickleError("array data runs past the end of the stream", at)
            self.trace.data_skips.append((self.pos, skip))
            self.pos += skip
        else:
            # A nested pickle (an object array) is read by a fresh unpickler right here.
            inner = PickleMachine(self.buf, self.pos, self.limits, self.build_hook, self.tick)
            nested = inner.run()
            self.trace.nested.append(nested)
            if nested.error is not None:
                raise nested.error
            if nested.limit is not None:
                raise nested.limit
            self.pos = nested.end

    def op_persid(self, at: int) -> bool:
        self._line()
        self._push(Opaque("persistent id"))
        return False

    def op_binpersid(self, at: int) -> bool:
        pid = self._pop(at)
        self._push(Opaque(f"persistent id {describe_value(pid)}"))
        return False

    def _ext(self, code: int, at: int) -> bool:
        self._event("extension", at, detail=f"extension code {code}")
        self._push(Opaque(f"extension {code}"))
        return False

    def op_ext1(self, at: int) -> bool:
        return self._ext(self._u8(), at)

    def op_ext2(self, at: int) -> bool:
        return self._ext(self._u16(), at)

    def op_ext4(self, at: int) -> bool:
        return self._ext(self._i32(), at)


def _parse_int(line: bytes, at: int) -> int:
    try:
        return int(line, 10)
    except ValueError:
        raise PickleError(f"invalid integer {line[:40]!r}", at) from None


def _unescape(raw: bytes) -> str:
    try:
        import codecs

        return codecs.escape_decode(raw)[0].decode("latin-1")
    except (ValueError, UnicodeDecodeError):
        return raw.decode("latin-1")


def describe_value(value: object) -> str:
    if isinstance(value, Global):
        return value.dotted
    if isinstance(value, Call):
        return f"result of calling {describe_value(value.callee)}"
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, Blank):
        return f"<{value.kind} of {value.length} bytes>"
    if isinstance(value, Opaque):
        return f"<{value.what}>"
    return f"<{type(value).__name__}>"


_OPCODES: dict[bytes, Callable[[PickleMachine, int], bool]] = {
    b"\x80": PickleMachine.op_proto,
    b".": PickleMachine.op_stop,
    b"\x95": PickleMachine.op_frame,
    b"(": PickleMachine.op_mark,
    b"0": PickleMachine.op_pop,
    b"1": PickleMachine.op_pop_mark,
    b"2": PickleMachine.op_dup,
    b"N": PickleMachine.op_none,
    b"\x88": PickleMachine.op_newtrue,
    b"\x89": PickleMachine.op_newfalse,
    b"I": PickleMachine.op_int,
    b"L": PickleMachine.op_long,
    b"J": PickleMachine.op_binint,
    b"K": PickleMachine.op_binint1,
    b"M": PickleMachine.op_binint2,
    b"\x8a": PickleMachine.op_long1,
    b"\x8b": PickleMachine.op_long4,
    b"F": PickleMachine.op_float,
    b"G": PickleMachine.op_binfloat,
    b"S": PickleMachine.op_string,
    b"T": PickleMachine.op_binstring,
    b"U": PickleMachine.op_short_binstring,
    b"V": PickleMachine.op_unicode,
    b"X": PickleMachine.op_binunicode,
    b"\x8c": PickleMachine.op_short_binunicode,
    b"\x8d": PickleMachine.op_binunicode8,
    b"B": PickleMachine.op_binbytes,
    b"C": PickleMachine.op_short_binbytes,
    b"\x8e": PickleMachine.op_binbytes8,
    b"\x96": PickleMachine.op_bytearray8,
    b"\x97": PickleMachine.op_next_buffer,
    b"\x98": PickleMachine.op_readonly_buffer,
    b")": PickleMachine.op_empty_tuple,
    b"t": PickleMachine.op_tuple,
    b"\x85": PickleMachine.op_tuple1,
    b"\x86": PickleMachine.op_tuple2,
    b"\x87": PickleMachine.op_tuple3,
    b"]": PickleMachine.op_empty_list,
    b"l": PickleMachine.op_list,
    b"a": PickleMachine.op_append,
    b"e": PickleMachine.op_appends,
    b"}": PickleMachine.op_empty_dict,
    b"d": PickleMachine.op_dict,
    b"s": PickleMachine.op_setitem,
    b"u": PickleMachine.op_setitems,
    b"\x8f": PickleMachine.op_empty_set,
    b"\x90": PickleMachine.op_additems,
    b"\x91": PickleMachine.op_frozenset,
    b"p": PickleMachine.op_put,
    b"q": PickleMachine.op_binput,
    b"r": PickleMachine.op_long_binput,
    b"\x94": PickleMachine.op_memoize,
    b"g": PickleMachine.op_get,
    b"h": PickleMachine.op_binget,
    b"j": PickleMachine.op_long_binget,
    b"c": PickleMachine.op_global,
    b"\x93": PickleMachine.op_stack_global,
    b"i": PickleMachine.op_inst,
    b"o": PickleMachine.op_obj,
    b"R": PickleMachine.op_reduce,
    b"\x81": PickleMachine.op_newobj,
    b"\x92": PickleMachine.op_newobj_ex,
    b"b": PickleMachine.op_build,
    b"P": PickleMachine.op_persid,
    b"Q": PickleMachine.op_binpersid,
    b"\x82": PickleMachine.op_ext1,
    b"\x83": PickleMachine.op_ext2,
    b"\x84": PickleMachine.op_ext4,
}

_HANDLERS: list[Callable[[PickleMachine, int], bool] | None] = [None] * 256
for _code, _handler in _OPCODES.items():
    _HANDLERS[_code[0]] = _handler

VALID_OPCODES = frozenset(code[0] for code in _OPCODES)
"""First bytes that can begin an instruction."""
