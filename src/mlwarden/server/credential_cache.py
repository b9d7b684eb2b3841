"""Remembering who a credential authenticated, for a couple of seconds.

Verifying a credential costs database reads (key row, principal, bindings) and, for tokens,
a signature check: together about half a millisecond, on every request. The cache keys on
a MAC (keyed BLAKE2b) of the presented credentials under a per-process random key (so no
plaintext key is held as a dictionary key) and keeps successful results only: a wrong key
always pays the full verification. A change made through this process's identity store (a
role, a key, a principal, a second factor) or a token revoked here invalidates the cache at
once; another process's change is seen within ``ttl_s``.
"""

from __future__ import annotations

import hashlib
import secrets

from mlwarden.identity.authenticate import Authenticator
from mlwarden.identity.model import Authenticated
from mlwarden.server.ttl_cache import TtlCache

CACHE_SECONDS = 2.0


class CachedAuthenticator:
    """:class:`Authenticator` with a short memory of successes."""

    def __init__(self, inner: Authenticator, ttl_s: float = CACHE_SECONDS) -> None:
        self.inner = inner
        self._key = secrets.token_bytes(32)
        self._cache: TtlCache[bytes, tuple[int, Authenticated]] = TtlCache(ttl_s, 50_000)

    def _fingerprint(self, *parts: str | bytes | None) -> bytes:
        # Keyed BLAKE2b is a MAC like HMAC-SHA256, and several times cheaper per call
        # (no OpenSSL digest lookup), which matters on every request.
        message = bytearray()
        for part in parts:
            data = part.encode() if isinstance(part, str) else (part or b"")
            message += len(data).to_bytes(4, "big")
            message += data
        return hashlib.blake2b(message, key=self._key, digest_size=32).digest()

    def authenticate(
        self,
        authorization: str | None,
        api_key_header: str | None,
        client_cert_der: bytes | None,
        session_token: str | None,
    ) -> Authenticated:
        key = self._fingerprint(authorization, api_key_header, client_cert_der, session_token)
        generation = self.inner.store.generation
        found = self._cache.get(key)
        if found is not None and found[0] == generation and not self._revoked(found[1]):
            return found[1]
        auth = self.inner.authenticate(
            authorization=authorization,
            api_key_header=api_key_header,
            client_cert_der=client_cert_der,
            session_token=session_token,
        )
        self._cache.put(key, (generation, auth))
        return auth

    def _revoked(self, auth: Authenticated) -> bool:
        if auth.method in ("token", "session") and auth.credential_id is not None:
            return self.inner.tokens.is_revoked(auth.credential_id)
        return False

    def forget(self) -> None:
        """Drop every remembered result (after a key, role or principal changed here)."""
        self._cache.forget()
