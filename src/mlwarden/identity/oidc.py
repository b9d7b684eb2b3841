"""Verifying JWTs from an OpenID Connect provider against its published keys (JWKS).

Only asymmetric algorithms are accepted, each only with a key of its own type, so neither
``alg: none`` nor an HMAC signed with a public key (algorithm confusion) can pass. Keys
come from a JWKS URL (fetched with a timeout and a size bound, cached, refetched once when
a token names an unknown key, at most every ``refetch_interval``) or from a file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from mlwarden.errors import UsageError
from mlwarden.identity.model import AuthenticationError

_log = logging.getLogger(__name__)

SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric JWS algorithms; HS* and ``none`` are never accepted."""
MAX_JWKS_BYTES = 256 * 1024
JWKS_CACHE_SECONDS = 600.0
REFETCH_INTERVAL_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 5.0
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
# What a key's type must be for each algorithm (EC keys also on their curve).
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "Ed": "OKP"}
_EC_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
# Private and symmetric members are dropped: verification needs only public keys.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class OidcVerifier:
    """Verifies ID or access tokens from one OpenID provider for one audience.

    Exactly one of ``jwks_url`` (``https://``, or ``http://`` on loopback only) and
    ``jwks_file`` gives the provider's keys. ``name_claim`` is the claim mapped to a
    principal name when the subject is not linked; ``leeway`` (seconds) tolerates clock
    skew on ``exp``/``nbf``/``iat``. ``clock`` (monotonic seconds) drives the key cache.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        jwks_file: str | Path | None = None,
        name_claim: str = "preferred_username",
        algorithms: Sequence[str] = ("RS256", "ES256", "EdDSA"),
        leeway: int = 30,
        clock: Callable[[], float] = time.monotonic,
        fetch_timeout: float = FETCH_TIMEOUT_SECONDS,
        cache_seconds: float = JWKS_CACHE_SECONDS,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
    ) -> None:
        if not issuer or not audience:
            raise UsageError("OIDC settings", "need an issuer and an audience", "set both")
        unsupported = sorted(set(algorithms) - SUPPORTED_ALGORITHMS)
        if unsupported or not algorithms:
            raise UsageError(
                f"OIDC algorithms {', '.join(unsupported) or '(none)'}",
                "are not supported",
                f"use some of {', '.join(sorted(SUPPORTED_ALGORITHMS))}",
            )
        if leeway < 0:
            raise UsageError("OIDC leeway", "must not be negative", "use a number of seconds")
        if (jwks_url is None) == (jwks_file is None):
            raise UsageError(
                "OIDC settings", "need exactly one of a JWKS URL and a JWKS file", "set one"
            )
        if jwks_url is not None:
            _check_url(jwks_url)
        self.issuer = issuer
        self.audience = audience
        self.name_claim = name_claim
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self._jwks_url = jwks_url
        self._jwks_file = None if jwks_file is None else Path(jwks_file)
        self._clock = clock
        self._fetch_timeout = fetch_timeout
        self._cache_seconds = cache_seconds
        self._refetch_interval = refetch_interval
        self._lock = threading.Lock()
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self.fetches = 0
        """How many times the keys were loaded (for monitoring)."""
        if self._jwks_file is not None:
            try:
                self._keys = _parse_jwks(_read_file(self._jwks_file))
            except (OSError, ValueError) as exc:
                raise UsageError(
                    str(self._jwks_file),
                    f"is not a readable JWKS ({exc})",
                    "save the provider's jwks_uri document there",
                ) from None
            self._fetched_at = self._attempted_at = clock()
            self.fetches = 1

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; :class:`AuthenticationError` otherwise.

        Checked: signature by a provider key of the token's algorithm (one of
        ``algorithms``), ``iss``, ``aud``, ``exp`` and ``nbf``; ``sub`` must be present.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(detail=f"OIDC token unreadable: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthenticationError(detail=f"OIDC token algorithm {alg!r} not allowed")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError(detail="OIDC token key id is malformed")
        jwk = _pick(self._current_keys(refresh_due_to_unknown_kid=False), kid, alg)
        if jwk is None:
            jwk = _pick(self._current_keys(refresh_due_to_unknown_kid=True), kid, alg)
        if jwk is None:
            raise AuthenticationError(detail=f"OIDC token signed by unknown key {kid!r}")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(detail=f"OIDC token rejected: {exc}") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthenticationError(detail="OIDC token has no subject")
        return claims

    # -- keys --------------------------------------------------------------------------

    def _current_keys(self, *, refresh_due_to_unknown_kid: bool) -> list[dict[str, Any]]:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._cache_seconds
            tried_recently = (
                self._attempted_at is not None and now - self._attempted_at < self._refetch_interval
            )
            if (stale or refresh_due_to_unknown_kid) and not tried_recently:
                self._reload(now)
            return self._keys

    def _reload(self, now: float) -> None:
        self._attempted_at = now
        try:
            if self._jwks_url is not None:
                body = _fetch(self._jwks_url, self._fetch_timeout)
            else:
                assert self._jwks_file is not None
                body = _read_file(self._jwks_file)
            keys = _parse_jwks(body)
        except (OSError, ValueError) as exc:
            # Keep serving the keys we have: a provider outage must not lock everyone out.
            _log.warning("cannot load the OIDC provider's keys: %s", exc)
            return
        self._keys = keys
        self._fetched_at = now
        self.fetches += 1


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead from https to http or to another host: refuse it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" and parts.hostname) and not loopback_http:
        raise UsageError(
            f"JWKS URL {url[:120]!r}",
            "must be https:// (http:// only on loopback)",
            "use the provider's jwks_uri",
        )


def _fetch(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            chunks: list[bytes] = []
            size = 0
            # The socket timeout bounds each read; the deadline bounds a slow drip too.
            while chunk := response.read(16 * 1024):
                size += len(chunk)
                if size > MAX_JWKS_BYTES:
                    raise ValueError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ValueError(f"JWKS download took over {timeout} s")
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise ValueError(f"HTTP {exc.code}") from None
    return b"".join(chunks)


def _read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        body = handle.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
    return body


def _parse_jwks(body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("no 'keys' list")
    keys = []
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC", "OKP"):
            continue  # symmetric ("oct") and unknown key types never verify anything
        if jwk.get("use", "sig") != "sig":
            continue
        keys.append({name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS})
    return keys


def _pick(keys: list[dict[str, Any]], kid: str | None, alg: str) -> dict[str, Any] | None:
    """The one key that may verify a token with this ``kid`` and ``alg``, if exactly one."""
    fits = [jwk for jwk in keys if (kid is None or jwk.get("kid") == kid) and _suits(jwk, alg)]
    return fits[0] if len(fits) == 1 else None


def _suits(jwk: dict[str, Any], alg: str) -> bool:
    if jwk.get("alg", alg) != alg:
        return False
    if alg in _EC_CURVE:
        return jwk.get("kty") == "EC" and jwk.get("crv") == _EC_CURVE[alg]
    kty = _KEY_TYPE[alg[:2]]
    return jwk.get("kty") == kty and (kty != "OKP" or jwk.get("crv") in ("Ed25519", "Ed448"))
