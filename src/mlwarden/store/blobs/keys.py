"""The names a blob may be stored under, and the error for a name that holds nothing.

A key is a lowercase hex SHA-256 digest, optionally followed by one suffix from
:data:`KEY_SUFFIXES` (``<digest>.sig``). Backends accept nothing else, so a key can never
name a parent folder, an absolute path, a hidden temp file or another tenant's prefix.
"""

from __future__ import annotations

import re

from mlwarden.errors import UsageError

KEY_SUFFIXES: frozenset[str] = frozenset(
    {
        "sig",  # a detached signature bundle over the blob
        "manifest",  # the member list of a folder stored as one blob
        "att",  # an attestation (in-toto statement) about the blob
    }
)
"""Suffixes a key may carry after its digest; adding a kind of companion object is one line."""

_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_valid_key(key: str) -> bool:
    """Whether ``key`` is a digest or a digest with one allowed suffix."""
    digest, dot, suffix = key.partition(".")
    if _DIGEST.fullmatch(digest) is None:
        return False
    return not dot or suffix in KEY_SUFFIXES


def check_key(key: str) -> str:
    """Return ``key`` unchanged, or raise :class:`UsageError` if it is not a blob key."""
    if not isinstance(key, str) or not is_valid_key(key):
        shown = repr(key)[:100]
        raise UsageError(
            f"blob key {shown}",
            "is not a blob key (64 lowercase hex digits, optionally followed by "
            f"one of .{', .'.join(sorted(KEY_SUFFIXES))})",
            "pass the hex SHA-256 digest the catalog recorded for the blob",
        )
    return key


class BlobNotFoundError(UsageError):
    """Nothing is stored under the key (never committed, aborted, or deleted)."""

    def __init__(self, location: str, key: str) -> None:
        self.key = key
        super().__init__(
            f"{location}/{key}",
            "no blob is stored under this key",
            "check the digest with `mlwarden store ls`; if the catalog lists it, the blob "
            "store is missing data and must be restored from a backup",
        )
