"""A minimal ZIP writer with knobs ``zipfile`` does not expose.

PyTorch's reader (miniz, CRC checks disabled) loads archives that Python's ``zipfile``
refuses or reads differently: a wrong CRC-32, a local header that disagrees with the
central directory, several members with one name. Writing the bytes ourselves lets the
corpus hold exactly those archives.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    flags: int = FLAG_UTF8
    local_flags: int | None = None  # None: same as ``flags``; else the local header lies
    crc: int | None = None  # None: the true CRC-32; anything else is written as is
    deflate: bool = False
    align: int = 64  # torch pads local headers so member data starts on this boundary


def write_zip(members: list[Member]) -> bytes:
    """Serialise ``members`` in order, then the central directory."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode()
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        if m.deflate:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = comp.compress(m.data) + comp.flush()
        else:
            body = m.data
        method = 8 if m.deflate else 0
        offset = len(out)
        # Pad with an extra field so the data is aligned, as torch's writer does.
        base = offset + 30 + len(name)
        pad = (-(base + 4)) % m.align if m.align > 1 else 0
        extra = struct.pack("<HH", 0x4654, pad) + b"Z" * pad if m.align > 1 else b""
        lflags = m.flags if m.local_flags is None else m.local_flags
        descriptor = m.flags & FLAG_DATA_DESCRIPTOR
        lcrc, lcsize, lusize = (0, 0, 0) if descriptor else (crc, len(body), len(m.data))
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, lflags, method, 0, 0x21,
            lcrc, lcsize, lusize, len(name), len(extra),
        )  # fmt: skip
        out += name + extra + body
        if descriptor:
            out += struct.pack("<IIII", 0x08074B50, crc, len(body), len(m.data))
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, method, 0, 0x21,
            crc, len(body), len(m.data), len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
        len(central), cd_offset, 0,
    )  # fmt: skip
    return bytes(out)
