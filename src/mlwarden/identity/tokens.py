"""mlwarden's own short-lived access tokens: EdDSA-signed JWTs.

A token is issued after a principal authenticated by other means (API key, OIDC, client
certificate, plus TOTP for step-up) and carries the factors used in ``amr``, so policy can
ask for ``otp`` without the client presenting the second factor on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mlwarden.identity.model import Authenticated, AuthenticationError
from mlwarden.identity.names import is_valid_name

AUDIENCE = "mlwarden"
ALGORITHM = "EdDSA"
SEED_BYTES = 32
_REQUIRED = ("iss", "sub", "aud", "iat", "exp", "jti", "amr")


def _now() -> datetime:
    return datetime.now(UTC)


class TokenIssuer:
    """Issues and verifies mlwarden tokens signed with an Ed25519 key made from ``seed``.

    ``seed`` is 32 secret bytes the server derives from its keyring; every server process
    with the same seed accepts the same tokens. ``clock`` is the time source for issuing
    and for checking expiry (tests move it), ``leeway`` the clock skew tolerated.

    Revocation (:meth:`revoke`) is kept in this process's memory only: it is lost on a
    restart and unknown to other processes, which is acceptable because tokens live for
    ``ttl`` (15 minutes by default); revoke the API key or disable the principal to cut
    access everywhere.
    """

    def __init__(
        self,
        seed: bytes,
        issuer: str = "mlwarden",
        ttl: timedelta = timedelta(minutes=15),
        *,
        clock: Callable[[], datetime] = _now,
        leeway: timedelta = timedelta(seconds=5),
    ) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"the token seed must be {SEED_BYTES} bytes")
        if ttl <= timedelta(0):
            raise ValueError("the token lifetime must be positive")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._private.public_key()
        self.issuer = issuer
        self.ttl = ttl
        self._clock = clock
        self._leeway = leeway
        raw = self._public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        """Names this signing key in the token header, so a rotated key can be told apart."""
        self._revoked: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def issue(self, auth: Authenticated) -> str:
        """A token for ``auth.principal`` carrying ``auth.factors`` as ``amr``."""
        now = self._clock()
        claims = {
            "iss": self.issuer,
            "sub": auth.principal.name,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "amr": sorted(auth.factors),
        }
        return jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.key_id})

    def verify(self, token: str) -> tuple[str, frozenset[str], str]:
        """``(principal name, factors, token id)`` of a valid token of this issuer.

        Raises :class:`AuthenticationError` for a bad signature, another issuer or
        audience, a missing claim, expiry, or revocation.
        """
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                # Times are checked below against this issuer's clock.
                options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(detail=f"token rejected: {exc}") from None
        name, factors, jti, expires = _claims(claims)
        if self._clock() >= expires + self._leeway:
            raise AuthenticationError(detail=f"token {jti} expired")
        with self._lock:
            if jti in self._revoked:
                raise AuthenticationError(detail=f"token {jti} revoked")
        return name, factors, jti

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` was revoked in this process (for callers that cache results)."""
        with self._lock:
            return jti in self._revoked

    def revoke(self, jti: str) -> None:
        """Refuse the token ``jti`` from now on, in this process (see the class notes)."""
        now = self._clock()
        with self._lock:
            # Entries are only needed until the token would have expired anyway.
            for old in [j for j, until in self._revoked.items() if until < now]:
                del self._revoked[old]
            self._revoked[jti] = now + self.ttl + self._leeway

    def is_own(self, token: str) -> bool:
        """Whether ``token`` claims to be from this issuer (unverified: for routing only)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.issuer


def _claims(claims: dict[str, Any]) -> tuple[str, frozenset[str], str, datetime]:
    name, jti, amr, exp = claims["sub"], claims["jti"], claims["amr"], claims["exp"]
    if not (isinstance(name, str) and is_valid_name(name)):
        raise AuthenticationError(detail="token subject is not a principal name")
    if not (isinstance(jti, str) and jti):
        raise AuthenticationError(detail="token id is malformed")
    if not (isinstance(amr, list) and all(isinstance(f, str) for f in amr)):
        raise AuthenticationError(detail="token factors are malformed")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise AuthenticationError(detail="token expiry is malformed")
    return name, frozenset(amr), jti, datetime.fromtimestamp(exp, UTC)
