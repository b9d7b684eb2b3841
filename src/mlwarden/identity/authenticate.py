"""Turning a request's credentials into an :class:`~mlwarden.identity.model.Authenticated`.

One credential decides, in this order: the ``Authorization`` header (an API key or a JWT
as a bearer token) or the ``X-API-Key`` header (never both), then the session cookie, then
the TLS client certificate. A credential that is present but fails is not skipped over
for the next one. Disabled principals are refused whatever the credential.
"""

from __future__ import annotations

import hashlib

from mlwarden.identity.api_keys import looks_like_api_key
from mlwarden.identity.client_cert import principal_name_from_cert
from mlwarden.identity.model import MISSING_CREDENTIALS, Authenticated, AuthenticationError
from mlwarden.identity.oidc import OidcVerifier
from mlwarden.identity.store import IdentityStore
from mlwarden.identity.tokens import TokenIssuer


class Authenticator:
    """Authenticates requests against the identity store, own tokens and, if set, OIDC."""

    def __init__(
        self, store: IdentityStore, tokens: TokenIssuer, oidc: OidcVerifier | None = None
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.oidc = oidc

    def authenticate(
        self,
        authorization: str | None,
        api_key_header: str | None,
        client_cert_der: bytes | None,
        session_token: str | None,
    ) -> Authenticated:
        """Who sent the request; :class:`AuthenticationError` (HTTP 401) otherwise.

        - ``Bearer mlw_...`` or ``X-API-Key``: an API key (method ``api_key``);
        - ``Bearer <jwt>``: an mlwarden token when its issuer is ours (``token``), else an
          OpenID provider's token (``oidc``), mapped by subject or name claim;
        - ``session_token`` (the cookie): an mlwarden token (``session``);
        - ``client_cert_der`` (verified by TLS): the principal it names (``mtls``).

        Empty strings count as absent.
        """
        authorization = (authorization or "").strip() or None
        api_key_header = (api_key_header or "").strip() or None
        session_token = (session_token or "").strip() or None
        if authorization is not None and api_key_header is not None:
            raise AuthenticationError(detail="both Authorization and X-API-Key were sent")
        if authorization is not None:
            return self._bearer(authorization)
        if api_key_header is not None:
            return self.store.verify_api_key(api_key_header)
        if session_token is not None:
            return self._own_token(session_token, "session")
        if client_cert_der:
            return self._certificate(client_cert_der)
        raise AuthenticationError(MISSING_CREDENTIALS, detail="no credentials")

    def _bearer(self, authorization: str) -> Authenticated:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthenticationError(detail=f"unsupported authorization scheme {scheme[:20]!r}")
        if looks_like_api_key(credential):
            return self.store.verify_api_key(credential)
        if self.tokens.is_own(credential):
            return self._own_token(credential, "token")
        if self.oidc is not None:
            return self._oidc(credential)
        raise AuthenticationError(detail="bearer token from an unknown issuer")

    def _own_token(self, token: str, method: str) -> Authenticated:
        name, factors, jti = self.tokens.verify(token)
        principal = self.store.get(name)
        if principal is None or principal.disabled:
            raise AuthenticationError(detail=f"token of unknown or disabled principal {name}")
        return Authenticated(principal, method, factors, jti)

    def _oidc(self, token: str) -> Authenticated:
        assert self.oidc is not None
        claims = self.oidc.verify(token)
        name = claims.get(self.oidc.name_claim)
        principal = self.store.for_oidc(claims["sub"], name if isinstance(name, str) else None)
        if principal is None or principal.disabled:
            raise AuthenticationError(detail=f"OIDC subject {claims['sub'][:80]!r} not admitted")
        jti = claims.get("jti")
        return Authenticated(
            principal, "oidc", frozenset({"oidc"}), jti if isinstance(jti, str) else None
        )

    def _certificate(self, der: bytes) -> Authenticated:
        name = principal_name_from_cert(der)
        principal = self.store.get(name)
        if principal is None or principal.disabled:
            raise AuthenticationError(detail=f"certificate of unknown or disabled {name}")
        fingerprint = "sha256:" + hashlib.sha256(der).hexdigest()
        return Authenticated(principal, "mtls", frozenset({"cert"}), fingerprint)
