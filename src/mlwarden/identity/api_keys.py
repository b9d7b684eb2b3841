"""API key format and the in-memory cache of recently verified keys.

A key reads ``mlw_<key_id>_<secret>``: the id (16 hex digits) finds the row, the secret
(32 random bytes, URL-safe base64) proves possession. Only an argon2id hash of the whole
key is stored, and the plaintext is shown once, when the key is issued.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from datetime import datetime, timedelta

KEY_PREFIX = "mlw_"
_KEY = re.compile(r"mlw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, plaintext)``."""
    key_id = secrets.token_hex(8)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def parse_key_id(plaintext: str) -> str | None:
    """The key id of a well-formed key, else None (nothing else is inferred from it)."""
    match = _KEY.fullmatch(plaintext) if len(plaintext) < 80 else None
    return match.group(1) if match else None


def looks_like_api_key(value: str) -> bool:
    """Whether a bearer credential is meant as an API key rather than a JWT."""
    return value.startswith(KEY_PREFIX)


class VerifiedKeyCache:
    """Which plaintext keys passed argon2 recently, so a busy client is not re-hashed.

    Entries are keyed by ``HMAC(secret, plaintext)``: a dump of this process's memory does
    not hold usable keys. An entry lasts ``ttl`` and never past the key's expiry; it only
    skips the hash, so the caller still checks the key's row (revocation by any process)
    and the principal on every request.
    """

    def __init__(
        self, hmac_key: bytes, ttl: timedelta = timedelta(seconds=60), max_entries: int = 10_000
    ) -> None:
        self._hmac_key = hmac_key
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[bytes, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def _tag(self, plaintext: str) -> bytes:
        return hmac.new(self._hmac_key, plaintext.encode(), hashlib.sha256).digest()

    def hit(self, plaintext: str, key_id: str, now: datetime) -> bool:
        """Whether ``plaintext`` was verified as ``key_id`` and the entry is still fresh."""
        tag = self._tag(plaintext)
        with self._lock:
            entry = self._entries.get(tag)
            if entry is None:
                return False
            if entry[1] <= now:
                del self._entries[tag]
                return False
            return entry[0] == key_id

    def remember(
        self, plaintext: str, key_id: str, now: datetime, expires_at: datetime | None
    ) -> None:
        """Record a successful verification of ``plaintext`` as ``key_id``."""
        until = now + self._ttl
        if expires_at is not None:
            until = min(until, expires_at)
        tag = self._tag(plaintext)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._evict(now)
            self._entries[tag] = (key_id, until)

    def forget_key(self, key_id: str) -> None:
        """Drop every entry of ``key_id`` (it was revoked)."""
        with self._lock:
            for tag in [t for t, (kid, _) in self._entries.items() if kid == key_id]:
                del self._entries[tag]

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: datetime) -> None:
        for tag in [t for t, (_, until) in self._entries.items() if until <= now]:
            del self._entries[tag]
        # Still full: drop the oldest half (dicts keep insertion order); they re-verify.
        if len(self._entries) >= self._max_entries:
            for tag in list(self._entries)[: self._max_entries // 2]:
                del self._entries[tag]
