"""Archives and compressed streams: zip, tar, and the compressors joblib uses.

Each container hands its members back to the engine (``ctx.scan_member``), which detects
every member's format from its bytes, so a pickle under any member name, a zip inside a
zip, or a compressed joblib stream inside a tar are all reached.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Iterable, Iterator

from mlwarden.findings import Finding, Rule, Severity
from mlwarden.scanners.base import (
    MALFORMED_RULE,
    Blob,
    LimitExceeded,
    MalformedInput,
    ScanContext,
)
from mlwarden.scanners.model.zip_reader import DAMAGED, crc_matches, list_members, read_member
from mlwarden.taxonomy import (
    ATLAS_SUPPLY_CHAIN_MODEL,
    CWE_DECOMPRESSION_BOMB,
    CWE_IMPROPER_INPUT,
    CWE_INTEGRITY,
    CWE_PATH_TRAVERSAL,
)

ARCHIVE_ANOMALY = Rule(
    "MLW-ARC-001",
    "Archive structure anomaly",
    Severity.MEDIUM,
    "Loaders and scanners can disagree on such archives. Re-create the archive with a "
    "standard tool before trusting it.",
    (CWE_IMPROPER_INPUT, ATLAS_SUPPLY_CHAIN_MODEL),
    "Odd flags, duplicate or mismatched names, overlapping members or prepended data: "
    "constructions used to hide members from one reader while another loads them.",
)
PATH_ESCAPE = Rule(
    "MLW-ARC-002",
    "Archive member path escapes the extraction folder",
    Severity.HIGH,
    "Do not extract this archive; a member would be written outside the target folder.",
    (CWE_PATH_TRAVERSAL,),
)
CRC_MISMATCH = Rule(
    "MLW-ARC-003",
    "Archive member checksum mismatch",
    Severity.MEDIUM,
    "The member was altered after the archive was written. Obtain a fresh copy.",
    (CWE_INTEGRITY,),
)
UNSUPPORTED = Rule(
    "MLW-ARC-004",
    "Archive member could not be decompressed",
    Severity.HIGH,
    "Install the decompressor named in the evidence, or re-create the archive with "
    "deflate; until then the member is not verified.",
    (CWE_IMPROPER_INPUT,),
)
BOMB = Rule(
    "MLW-ARC-005",
    "Decompression bomb",
    Severity.HIGH,
    "Do not open this file: it expands far beyond its size.",
    (CWE_DECOMPRESSION_BOMB,),
)
RULES = (ARCHIVE_ANOMALY, PATH_ESCAPE, CRC_MISMATCH, UNSUPPORTED, BOMB)

_CRC_CHECK_MAX = 64 << 20
"""Members up to this size get their CRC-32 verified (larger tensors are not read)."""
_TORCH_STORAGE = re.compile(r"(^|/)data/\d+$")


class ZipScanner:
    """Zip archives: PyTorch checkpoints, .npz, .keras, and any zip a model hides in."""

    name = "zip"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        # A generator, so findings already made survive a limit reached on a later member.
        data = blob.view()
        listing = list_members(data, ctx.limits.max_members)
        for anomaly in listing.anomalies:
            yield _anomaly_rule(anomaly).finding(blob.location, anomaly)
            if anomaly.startswith(DAMAGED):
                ctx.incomplete.append(f"{blob.location}: {anomaly}")
        for member in listing.members:
            ctx.budget.check_time()
            if member.name.endswith("/") and member.size == 0:
                continue
            location = blob.location.child(member.name)
            try:
                content = read_member(data, member, ctx.budget)
            except MalformedInput as exc:
                ctx.incomplete.append(f"{location}: not decompressed")
                yield UNSUPPORTED.finding(location, str(exc))
                continue
            except LimitExceeded as exc:
                ctx.incomplete.append(f"{location}: {exc.what}")
                rule = BOMB if "ratio" in exc.what else UNSUPPORTED
                yield rule.finding(location, f"{exc.what} exceeded (limit {exc.limit})")
                continue
            found = list(ctx.scan_member(Blob(content, location, member.name, blob.depth + 1)))
            yield from found
            analysed = bool(found) or not _TORCH_STORAGE.search(member.name)
            if analysed and len(content) <= _CRC_CHECK_MAX and not crc_matches(member, content):
                yield CRC_MISMATCH.finding(location, f"stored CRC-32 {member.crc:08x} differs")


def _anomaly_rule(anomaly: str) -> Rule:
    if anomaly.startswith(DAMAGED):
        return MALFORMED_RULE
    if "escapes the extraction" in anomaly:
        return PATH_ESCAPE
    if "overlap" in anomaly:
        return BOMB
    return ARCHIVE_ANOMALY


class TarScanner:
    """Tar archives (legacy PyTorch checkpoints, model bundles)."""

    name = "tar"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        data = blob.view()
        for name, start, size, kind in _tar_members(data, ctx.limits.max_members):
            ctx.budget.check_time()
            location = blob.location.child(name)
            if name.startswith("/") or ".." in name.split("/"):
                yield PATH_ESCAPE.finding(location, f"{name}: path escapes the folder")
            if kind in "12":
                yield ARCHIVE_ANOMALY.finding(location, f"{name}: link member (points elsewhere)")
                continue
            if kind not in "07\x00":
                continue
            yield from ctx.scan_member(
                Blob(data[start : start + size], location, name, blob.depth + 1)
            )


def _octal(field: memoryview) -> int:
    raw = bytes(field)
    if raw and raw[0] & 0x80:  # GNU base-256 for sizes over 8 GiB
        return int.from_bytes(raw[1:], "big")
    text = raw.split(b"\x00", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise MalformedInput(f"tar header has a bad number {text[:20]!r}") from None


def _tar_members(data: memoryview, max_members: int) -> Iterable[tuple[str, int, int, str]]:
    pos = 0
    count = 0
    long_name: str | None = None
    while pos + 512 <= len(data):
        header = data[pos : pos + 512]
        if not any(header):
            return
        size = _octal(header[124:136])
        kind = chr(header[156])
        name = bytes(header[0:100]).split(b"\x00", 1)[0].decode("utf-8", "replace")
        if bytes(header[257:262]) == b"ustar":
            prefix = bytes(header[345:500]).split(b"\x00", 1)[0].decode("utf-8", "replace")
            name = f"{prefix}/{name}" if prefix else name
        start = pos + 512
        if start + size > len(data):
            raise MalformedInput(f"tar member {name!r} runs past the end of the file")
        body = data[start : start + size]
        pos = start + (size + 511) // 512 * 512
        if kind in ("L", "x"):
            long_name = _long_name(bytes(body), kind) or long_name
            continue
        count += 1
        if count > max_members:
            raise LimitExceeded("tar members", max_members, "raise limits.max_members")
        yield (long_name or name), start, size, kind
        long_name = None


def _long_name(body: bytes, kind: str) -> str | None:
    if kind == "L":
        return body.split(b"\x00", 1)[0].decode("utf-8", "replace")
    for record in body.decode("utf-8", "replace").splitlines():
        _, _, field = record.partition(" ")
        key, _, value = field.partition("=")
        if key == "path":
            return value
    return None


_LZ4_MISSING = "lz4 streams need the `lz4` package: pip install lz4"


def _decompressor(fmt: str) -> tuple[object, int]:
    """A decompressor object for ``fmt`` and how many header bytes to skip first."""
    if fmt == "gzip":
        return zlib.decompressobj(31), 0
    if fmt == "zlib":
        return zlib.decompressobj(), 0
    if fmt == "joblib-zfile":
        return zlib.decompressobj(), 21  # "ZF" + hex length padded to 19 characters
    if fmt == "bz2":
        return bz2.BZ2Decompressor(), 0
    if fmt in ("xz", "lzma"):
        return lzma.LZMADecompressor(lzma.FORMAT_AUTO), 0
    if fmt == "lz4":
        try:
            import lz4.frame
        except ImportError:
            raise MalformedInput(_LZ4_MISSING) from None
        return lz4.frame.LZ4FrameDecompressor(), 0
    raise MalformedInput(f"no decompressor for {fmt}")


class CompressedScanner:
    """Single compressed streams (gzip, zlib, bz2, xz, lzma, lz4): joblib's compressed dumps."""

    name = "compressed"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        from mlwarden.scanners.detect import detect

        fmt = detect(blob)
        try:
            decompressor, skip = _decompressor(fmt)
        except MalformedInput as exc:
            ctx.incomplete.append(f"{blob.location}: {exc}")
            return [UNSUPPORTED.finding(blob.location, str(exc))]
        limit = ctx.limits.max_member_bytes
        raw = blob.view()[skip:]
        try:
            out = decompressor.decompress(raw, limit + 1)  # type: ignore[attr-defined]
        except (zlib.error, OSError, lzma.LZMAError, EOFError, RuntimeError) as exc:
            if blob.depth == 0 and fmt in ("zlib", "lzma"):
                return []  # a coincidental magic number, not a compressed stream
            raise MalformedInput(f"{fmt} stream is damaged: {exc}") from None
        if len(out) > limit:
            ctx.incomplete.append(f"{blob.location}: decompressed size limit")
            return [BOMB.finding(blob.location, f"decompresses to more than {limit} bytes")]
        if len(out) > ctx.limits.max_compression_ratio * max(len(raw), 1) and len(out) > 1 << 20:
            ctx.incomplete.append(f"{blob.location}: compression ratio limit")
            return [BOMB.finding(blob.location, f"compression ratio above {len(out) // len(raw)}")]
        ctx.budget.spend_decompressed(len(out))
        inner_name = re.sub(r"\.(gz|bz2|xz|lzma|z|lz4)$", "", blob.name) or "decompressed"
        inner = Blob(out, blob.location.child(f"<{fmt}>"), inner_name, blob.depth + 1)
        return list(ctx.scan_member(inner))
