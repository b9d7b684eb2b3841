"""A bounded, tolerant reader of zip archives (PyTorch checkpoints, .npz, .keras).

Python's ``zipfile`` refuses archives that PyTorch's own reader accepts (the encryption flag
set on data stored in the clear, wrong CRC-32 values, odd flags), and scanners built on it
skip such files: a known bypass. This reader parses the central directory itself, reads
every member the way a permissive loader would, and reports each anomaly instead of failing.
"""

from __future__ import annotations

import bz2
import itertools
import lzma
import struct
import zlib
from dataclasses import dataclass

from mlwarden.scanners.base import Budget, LimitExceeded, MalformedInput

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipMember:
    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int
    """Where the member's (possibly compressed) bytes begin."""
    local_name: str
    """Name in the local header; loaders that stream the archive use this one."""

    @property
    def encrypted_flag(self) -> bool:
        return bool(self.flags & 0x1)


@dataclass
class ZipListing:
    members: list[ZipMember]
    anomalies: list[str]


def _u16(b: bytes | memoryview, o: int) -> int:
    return int(struct.unpack_from("<H", b, o)[0])


def _u32(b: bytes | memoryview, o: int) -> int:
    return int(struct.unpack_from("<I", b, o)[0])


def _u64(b: bytes | memoryview, o: int) -> int:
    return int(struct.unpack_from("<Q", b, o)[0])


def _decode_name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


def list_members(data: memoryview, max_members: int) -> ZipListing:
    """Parse the central directory; raise :class:`MalformedInput` when there is none."""
    size = len(data)
    tail_start = max(0, size - 65_557)
    tail = bytes(data[tail_start:])
    eocd = tail.rfind(_EOCD)
    if eocd < 0 or len(tail) - eocd < 22:
        raise MalformedInput("no end-of-central-directory record: not a complete zip archive")
    eocd_at = tail_start + eocd
    count = _u16(data, eocd_at + 10)
    cd_size = _u32(data, eocd_at + 12)
    cd_offset = _u32(data, eocd_at + 16)
    anomalies: list[str] = []
    if 0xFFFFFFFF in (cd_offset, cd_size) or count == 0xFFFF:
        loc = eocd_at - 20
        if loc >= 0 and bytes(data[loc : loc + 4]) == _EOCD64_LOCATOR:
            eocd64_at = _u64(data, loc + 8)
            if eocd64_at + 56 > size or bytes(data[eocd64_at : eocd64_at + 4]) != _EOCD64:
                raise MalformedInput("broken zip64 end-of-central-directory record")
            count = _u64(data, eocd64_at + 32)
            cd_size = _u64(data, eocd64_at + 40)
            cd_offset = _u64(data, eocd64_at + 48)
    # Archives with data prepended (self-extracting style) have offsets shifted by the prefix.
    shift = 0
    cd_found = bytes(data[cd_offset : cd_offset + 4]) == _CENTRAL
    if not cd_found and cd_size <= eocd_at:
        expected = eocd_at - cd_size
        if expected >= 0 and bytes(data[expected : expected + 4]) == _CENTRAL:
            shift = expected - cd_offset
            anomalies.append(f"{shift} bytes of other data precede the archive")
    if count > max_members:
        raise LimitExceeded("zip members", max_members, "raise limits.max_members")
    members: list[ZipMember] = []
    pos = cd_offset + shift
    for _ in range(count):
        if pos + 46 > size or bytes(data[pos : pos + 4]) != _CENTRAL:
            return _from_local_headers(
                data, max_members, f"central directory entry {len(members)} is damaged"
            )
        flags = _u16(data, pos + 8)
        method = _u16(data, pos + 10)
        crc = _u32(data, pos + 16)
        csize = _u32(data, pos + 20)
        usize = _u32(data, pos + 24)
        nlen, xlen, clen = _u16(data, pos + 28), _u16(data, pos + 30), _u16(data, pos + 32)
        offset = _u32(data, pos + 42)
        name = _decode_name(bytes(data[pos + 46 : pos + 46 + nlen]), flags)
        extra = bytes(data[pos + 46 + nlen : pos + 46 + nlen + xlen])
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        pos += 46 + nlen + xlen + clen
        header = offset + shift
        if header + 30 > size or bytes(data[header : header + 4]) != _LOCAL:
            anomalies.append(f"{name}: local header missing at offset {header}")
            continue
        lnlen, lxlen = _u16(data, header + 26), _u16(data, header + 28)
        local_flags = _u16(data, header + 6)
        local_name = _decode_name(bytes(data[header + 30 : header + 30 + lnlen]), local_flags)
        start = header + 30 + lnlen + lxlen
        if start + csize > size:
            anomalies.append(f"{name}: data runs past the end of the file")
            csize = max(0, size - start)
        members.append(ZipMember(name, flags, method, crc, csize, usize, header, start, local_name))
    if not members and size > 30 and bytes(data[:4]) == _LOCAL:
        return _from_local_headers(data, max_members, "central directory lists no members")
    _check_members(members, anomalies)
    return ZipListing(members, anomalies)


DAMAGED = "central directory unusable"
"""Prefix of the anomaly reported when members had to be found from local headers."""


def _from_local_headers(data: memoryview, max_members: int, why: str) -> ZipListing:
    """Members found by walking local headers, as streaming readers find them."""
    members: list[ZipMember] = []
    size = len(data)
    pos = 0
    while pos + 30 <= size and bytes(data[pos : pos + 4]) == _LOCAL:
        if len(members) >= max_members:
            raise LimitExceeded("zip members", max_members, "raise limits.max_members")
        flags, method = _u16(data, pos + 6), _u16(data, pos + 8)
        crc, csize, usize = _u32(data, pos + 14), _u32(data, pos + 18), _u32(data, pos + 22)
        nlen, xlen = _u16(data, pos + 26), _u16(data, pos + 28)
        name = _decode_name(bytes(data[pos + 30 : pos + 30 + nlen]), flags)
        start = pos + 30 + nlen + xlen
        if flags & 0x8 and csize == 0:
            break  # sizes live in a trailing data descriptor: cannot walk further safely
        csize = min(csize, max(0, size - start))
        members.append(ZipMember(name, flags, method, crc, csize, usize, pos, start, name))
        pos = start + csize
    return ZipListing(
        members, [f"{DAMAGED}: {why}; {len(members)} member(s) read from local headers"]
    )


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, length = _u16(extra, i), _u16(extra, i + 2)
        body = extra[i + 4 : i + 4 + length]
        if tag == 0x0001:
            j = 0
            if usize == 0xFFFFFFFF and j + 8 <= len(body):
                usize, j = _u64(body, j), j + 8
            if csize == 0xFFFFFFFF and j + 8 <= len(body):
                csize, j = _u64(body, j), j + 8
            if offset == 0xFFFFFFFF and j + 8 <= len(body):
                offset = _u64(body, j)
        i += 4 + length
    return usize, csize, offset


def _check_members(members: list[ZipMember], anomalies: list[str]) -> None:
    names: set[str] = set()
    spans: list[tuple[int, int, str]] = []
    for m in members:
        if m.name in names:
            anomalies.append(f"{m.name}: duplicate member name (loaders disagree on which wins)")
        names.add(m.name)
        if m.local_name != m.name:
            anomalies.append(
                f"{m.name}: local header names it {m.local_name!r} (streaming readers see that)"
            )
        if m.encrypted_flag:
            anomalies.append(f"{m.name}: encryption flag set (some loaders ignore it)")
        if m.name.startswith(("/", "\\")) or ".." in m.name.replace("\\", "/").split("/"):
            anomalies.append(f"{m.name}: path escapes the extraction folder")
        spans.append((m.header_offset, m.data_offset + m.compressed_size, m.name))
    spans.sort()
    for (a_start, a_end, a_name), (b_start, _b_end, b_name) in itertools.pairwise(spans):
        if b_start < a_end and a_start != b_start:
            anomalies.append(f"{a_name} and {b_name} overlap (a zip-bomb construction)")
            break


def read_member(
    data: memoryview, member: ZipMember, budget: Budget, max_bytes: int | None = None
) -> memoryview | bytes:
    """The member's uncompressed bytes (a zero-copy view when stored), bounded by limits.

    ``max_bytes`` reads only a prefix (for sniffing); otherwise the whole member counts
    against the decompression budget.
    """
    raw = data[member.data_offset : member.data_offset + member.compressed_size]
    limit = budget.limits.max_member_bytes if max_bytes is None else max_bytes
    if member.method == 0:
        return raw[:limit] if max_bytes is not None else raw
    if max_bytes is None and member.size > limit:
        raise LimitExceeded(
            f"decompressed size of {member.name}", limit, "raise limits.max_member_bytes"
        )
    out = inflate(raw, member.method, limit if max_bytes is not None else limit + 1)
    if max_bytes is None:
        if len(out) > limit:
            raise LimitExceeded(
                f"decompressed size of {member.name}", limit, "raise limits.max_member_bytes"
            )
        ratio_cap = budget.limits.max_compression_ratio * max(len(raw), 1)
        if len(out) > ratio_cap and len(out) > 1 << 20:
            raise LimitExceeded(
                f"compression ratio of {member.name}",
                budget.limits.max_compression_ratio,
                "raise limits.max_compression_ratio if the archive is trusted",
            )
        budget.spend_decompressed(len(out))
    return out


def inflate(raw: memoryview | bytes, method: int, max_out: int) -> bytes:
    """Decompress at most ``max_out`` bytes of a member compressed with ``method``."""
    try:
        if method == 8:
            d = zlib.decompressobj(-15)
            return d.decompress(raw, max_out)
        if method == 12:
            return bz2.BZ2Decompressor().decompress(bytes(raw), max_out)
        if method == 14:
            # zip's LZMA: 2-byte version, 2-byte properties size, properties, then raw data.
            body = bytes(raw)
            psize = _u16(body, 2)
            props = body[4 : 4 + psize]
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)]  # type: ignore[attr-defined]
            dec = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
            return dec.decompress(body[4 + psize :], max_out)
    except (zlib.error, OSError, lzma.LZMAError, ValueError, struct.error) as exc:
        raise MalformedInput(f"compressed data is damaged: {exc}") from None
    raise MalformedInput(f"unsupported compression method {method}")


def crc_matches(member: ZipMember, content: memoryview | bytes) -> bool:
    return zlib.crc32(content) & 0xFFFFFFFF == member.crc
