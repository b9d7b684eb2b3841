"""Configuration files as text: bounded size, tolerant decoding.

Configuration is small; a multi-megabyte "config" is either generated or hostile, and
parsing it (YAML above all) costs far more than its size suggests. Bytes that are not
UTF-8 are replaced rather than rejected: the programs that read these files (a shell,
Docker, a Java properties loader) are more lenient than a strict decoder, so rejecting
would hide what they would run.
"""

from __future__ import annotations

import codecs

from mlwarden.scanners.base import Blob, LimitExceeded, ScanContext

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Largest configuration file analysed (further capped by ``limits.max_metadata_bytes``)."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def config_limit(ctx: ScanContext | None) -> int:
    """The byte limit for one configuration file under ``ctx``'s limits."""
    if ctx is None:
        return MAX_CONFIG_BYTES
    return min(MAX_CONFIG_BYTES, ctx.limits.max_metadata_bytes)


def decode_config(blob: Blob, ctx: ScanContext | None) -> str:
    """The text of ``blob``; raise :class:`LimitExceeded` when it is too large to be a
    configuration file."""
    limit = config_limit(ctx)
    if blob.size > limit:
        raise LimitExceeded(
            "configuration file size",
            limit,
            "split the file, or scan it as data if it is not configuration",
        )
    return decode_bytes(bytes(blob.view()))


def decode_bytes(raw: bytes) -> str:
    """Decode by byte-order mark, else as UTF-8 with replacement characters."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, "replace")
    return raw.decode("utf-8", "replace")
