"""A bounded reader for the one thing mlwarden needs from HDF5: the root group's string
attributes.

libhdf5 is C code that has hung and crashed on corrupted files (a fuzzed Keras file sends
HDF5 2.0 into an endless loop reading an attribute), and no time budget can stop C code.
This reader follows the HDF5 file format specification for exactly the structures on the
path to an attribute value: superblock (versions 0-3), object header (versions 1 and 2)
with its continuation blocks, attribute messages (versions 1-3), fixed-length strings and
variable-length strings in a global heap collection. Every address is checked against the
file, every loop is bounded, and anything else on that path is reported, not guessed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from mlwarden.scanners.base import LimitExceeded, MalformedInput

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MSG_CONTINUATION = 0x10
_MSG_ATTRIBUTE = 0x0C
_MSG_ATTRIBUTE_INFO = 0x15
_MAX_MESSAGES = 100_000
_MAX_BLOCKS = 10_000
_CLASS_STRING = 3
_CLASS_VLEN = 9


@dataclass(frozen=True)
class StringAttribute:
    name: str
    value: bytes
    offset: int
    """Where the value's bytes start in the file."""


@dataclass
class RootAttributes:
    strings: list[StringAttribute] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    """Names of wanted attributes that are not strings (or are empty)."""
    dense_storage: bool = False
    """The root group keeps (some) attributes in dense storage, which is not read."""


class _File:
    def __init__(self, data: memoryview, base: int, offsets: int, lengths: int) -> None:
        self.data = data
        self.base = base
        self.o = offsets
        self.ln = lengths
        self.max_value = len(data)

    def span(self, at: int, n: int, what: str) -> memoryview:
        if at < 0 or n < 0 or at + n > len(self.data):
            raise MalformedInput(f"HDF5 {what} ({n} bytes at {at}) lies outside the file")
        return self.data[at : at + n]

    def uint(self, at: int, n: int, what: str) -> int:
        return int.from_bytes(self.span(at, n, what), "little")

    def address(self, at: int, what: str) -> int | None:
        """A file address (relative to the base), or None when undefined (all ones)."""
        raw = self.uint(at, self.o, what)
        return None if raw == (1 << (8 * self.o)) - 1 else self.base + raw


def _superblock(data: memoryview) -> tuple[_File, int]:
    """The file view and the root group's object header address."""
    at = 0
    while at == 0 or at < len(data):  # the superblock may follow a user block
        if bytes(data[at : at + 8]) == SIGNATURE:
            break
        at = 512 if at == 0 else at * 2
    else:
        raise MalformedInput("no HDF5 superblock signature")
    version = data[at + 8] if at + 8 < len(data) else -1
    if version in (0, 1):
        head = at + 13
        sizes = bytes(data[head : head + 2])
        var = at + 24 + (4 if version == 1 else 0)
    elif version in (2, 3):
        sizes = bytes(data[at + 9 : at + 11])
        var = at + 12
    else:
        raise MalformedInput(f"unsupported HDF5 superblock version {version}")
    if len(sizes) != 2 or sizes[0] not in (2, 4, 8, 16) or sizes[1] not in (2, 4, 8, 16):
        raise MalformedInput("HDF5 superblock has invalid offset or length sizes")
    # libhdf5 takes the superblock's own position as the base of every address,
    # whatever the stored base address says (H5F__super_read).
    f = _File(data, at, sizes[0], sizes[1])
    if version in (0, 1):
        # base, free space, end of file, driver info, then the root symbol table entry:
        # link name offset, object header address.
        root = f.address(var + 5 * f.o, "root group address")
    else:
        # base, superblock extension, end of file, root group object header.
        root = f.address(var + 3 * f.o, "root group address")
    if root is None:
        raise MalformedInput("HDF5 root group address is undefined")
    return f, root


@dataclass
class _Message:
    kind: int
    flags: int
    start: int
    size: int


def _messages_v1(f: _File, at: int) -> tuple[list[_Message], int, int]:
    """Messages of a version 1 object header: (messages, block start, block size)."""
    head = f.span(at, 16, "object header")
    if head[0] != 1:
        raise MalformedInput(f"unsupported HDF5 object header version {head[0]}")
    size = int.from_bytes(head[8:12], "little")
    return _block_v1(f, at + 16, size), at + 16, size


def _block_v1(f: _File, start: int, size: int) -> list[_Message]:
    f.span(start, size, "object header block")
    out: list[_Message] = []
    pos, end = start, start + size
    while pos + 8 <= end:
        kind = f.uint(pos, 2, "message type")
        msize = f.uint(pos + 2, 2, "message size")
        flags = f.uint(pos + 4, 1, "message flags")
        if pos + 8 + msize > end:
            raise MalformedInput(f"HDF5 header message at {pos} overruns its block")
        out.append(_Message(kind, flags, pos + 8, msize))
        pos += 8 + msize
    return out


def _block_v2(f: _File, start: int, end: int, creation_order: bool) -> list[_Message]:
    out: list[_Message] = []
    pos = start
    head = 6 if creation_order else 4
    while pos + head <= end:
        kind = f.uint(pos, 1, "message type")
        msize = f.uint(pos + 1, 2, "message size")
        flags = f.uint(pos + 3, 1, "message flags")
        if pos + head + msize > end:
            raise MalformedInput(f"HDF5 header message at {pos} overruns its block")
        out.append(_Message(kind, flags, pos + head, msize))
        pos += head + msize
    return out


def _messages_v2(f: _File, at: int) -> tuple[list[_Message], bool]:
    head = f.span(at, 6, "object header")
    if head[4] != 2:
        raise MalformedInput(f"unsupported HDF5 object header version {head[4]}")
    flags = head[5]
    pos = at + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 0x03)
    size = f.uint(pos, width, "object header chunk size")
    start = pos + width
    f.span(start, size + 4, "object header chunk")  # messages, then a checksum
    return _block_v2(f, start, start + size, bool(flags & 0x04)), bool(flags & 0x04)


def _all_messages(f: _File, at: int) -> list[_Message]:
    """Every message of the object header at ``at``, continuation blocks included."""
    v2 = bytes(f.span(at, 4, "object header")) == b"OHDR"
    if v2:
        messages, order = _messages_v2(f, at)
    else:
        messages, _, _ = _messages_v1(f, at)
        order = False
    seen: set[int] = set()
    i = 0
    while i < len(messages):
        if len(messages) > _MAX_MESSAGES or len(seen) > _MAX_BLOCKS:
            raise MalformedInput("HDF5 object header has too many messages or blocks")
        m = messages[i]
        i += 1
        if m.kind != _MSG_CONTINUATION:
            continue
        where = f.address(m.start, "continuation address")
        length = f.uint(m.start + f.o, f.ln, "continuation length")
        if where is None or where in seen:
            raise MalformedInput("HDF5 continuation block is undefined or repeats")
        seen.add(where)
        if v2:
            if bytes(f.span(where, 4, "continuation block")) != b"OCHK":
                raise MalformedInput(f"HDF5 continuation block at {where} lacks its signature")
            messages += _block_v2(f, where + 4, where + length - 4, order)
        else:
            messages += _block_v1(f, where, length)
    return messages


def _dataspace_elements(f: _File, at: int, size: int) -> int:
    raw = f.span(at, max(size, 4), "dataspace")
    version, rank = raw[0], raw[1]
    if version == 1:
        dims_at = at + 8
    elif version == 2:
        if raw[3] == 2:  # null dataspace
            return 0
        dims_at = at + 4
    else:
        raise MalformedInput(f"unsupported HDF5 dataspace version {version}")
    count = 1
    for d in range(rank):
        count *= f.uint(dims_at + d * f.ln, f.ln, "dataspace dimension")
    return count


def _global_heap_object(f: _File, collection: int, index: int) -> tuple[int, int]:
    """(offset, size) of object ``index`` in the global heap collection at ``collection``."""
    if bytes(f.span(collection, 4, "global heap")) != b"GCOL":
        raise MalformedInput(f"HDF5 global heap at {collection} lacks its signature")
    total = f.uint(collection + 8, f.ln, "global heap size")
    f.span(collection, total, "global heap collection")
    pos, end = collection + 8 + f.ln, collection + total
    for _ in range(_MAX_MESSAGES):
        if pos + 8 + f.ln > end:
            break
        obj = f.uint(pos, 2, "heap object index")
        size = f.uint(pos + 8, f.ln, "heap object size")
        data = pos + 8 + f.ln
        if obj == 0:  # free space: the rest of the collection
            break
        if obj == index:
            f.span(data, size, "heap object")
            return data, size
        pos = data + size + (-size % 8)
    raise MalformedInput(f"HDF5 global heap object {index} not found")


def _string_value(f: _File, dtype: int, data: int) -> tuple[int, bytes] | None:
    """The first element of a string attribute as (file offset, bytes), or None."""
    head = f.span(dtype, 8, "datatype")
    cls = head[0] & 0x0F
    size = int.from_bytes(head[4:8], "little")
    if cls == _CLASS_STRING:
        _check_size(f, size)
        value = bytes(f.span(data, size, "attribute value"))
        return data, value.split(b"\x00", 1)[0]
    if cls == _CLASS_VLEN and head[1] & 0x0F == 1:  # variable-length string
        length = f.uint(data, 4, "string length")
        collection = f.address(data + 4, "global heap address")
        index = f.uint(data + 4 + f.o, 4, "global heap index")
        if collection is None:
            return data, b""
        offset, size = _global_heap_object(f, collection, index)
        _check_size(f, min(length, size))
        return offset, bytes(f.span(offset, min(length, size), "string"))
    return None


def _check_size(f: _File, size: int) -> None:
    if size > f.max_value:
        raise LimitExceeded(
            "HDF5 attribute size",
            f.max_value,
            "raise limits.max_metadata_bytes if the model config is trusted to be this large",
        )


def _attribute(f: _File, m: _Message, wanted: frozenset[str], out: RootAttributes) -> None:
    raw = f.span(m.start, min(m.size, 8), "attribute message")
    version = raw[0]
    if version not in (1, 2, 3):
        raise MalformedInput(f"unsupported HDF5 attribute message version {version}")
    name_size, dtype_size, space_size = struct.unpack_from("<HHH", raw, 2)
    pos = m.start + 8 + (1 if version == 3 else 0)

    def advance(n: int) -> int:
        return n + (-n % 8) if version == 1 else n

    name_bytes = bytes(f.span(pos, name_size, "attribute name"))
    name = name_bytes.split(b"\x00", 1)[0].decode("utf-8", "replace")
    if name not in wanted:
        return
    if version >= 2 and raw[1] & 0x03:
        raise MalformedInput(f"HDF5 attribute {name} uses shared datatype or dataspace")
    dtype = pos + advance(name_size)
    space = dtype + advance(dtype_size)
    data = space + advance(space_size)
    if data > m.start + m.size:
        raise MalformedInput(f"HDF5 attribute {name} overruns its message")
    if _dataspace_elements(f, space, space_size) == 0:
        out.other.append(name)
        return
    found = _string_value(f, dtype, data)
    if found is None:
        out.other.append(name)
    else:
        out.strings.append(StringAttribute(name, found[1], found[0]))


def root_attributes(
    data: memoryview, wanted: frozenset[str], max_value: int | None = None
) -> RootAttributes:
    """The root group's string attributes named in ``wanted``, read without any HDF5
    library; a value longer than ``max_value`` bytes raises LimitExceeded."""
    f, root = _superblock(data)
    if max_value is not None:
        f.max_value = max_value
    out = RootAttributes()
    for m in _all_messages(f, root):
        if m.kind == _MSG_ATTRIBUTE:
            _attribute(f, m, wanted, out)
        elif m.kind == _MSG_ATTRIBUTE_INFO:
            flags = f.uint(m.start + 1, 1, "attribute info flags")
            heap_at = m.start + 2 + (2 if flags & 0x01 else 0)
            out.dense_storage = out.dense_storage or f.address(heap_at, "fractal heap") is not None
    return out
