"""Cross-site request defences for dashboard forms: same-origin checks and CSRF tokens.

The session cookie is sent by the browser on its own, so a form posted from another site
would carry it. Two independent checks stop that: the request's ``Origin`` (or, failing
that, ``Referer``) must name this host, and the form must echo a token only pages of this
session contain. Requests that carry an ``Authorization`` or ``X-API-Key`` header are not
at risk (no other site can make a browser add those) and skip the token check.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from mlwarden.identity.model import Authenticated
from mlwarden.server.guard import Caller

CSRF_FIELD = "csrf"
_CSRF_CONTEXT = b"mlwarden/dashboard/csrf\x00"


def csrf_token(auth: Authenticated, server_key: bytes) -> str:
    """The token forms of this session must echo.

    An HMAC under the server's CSRF key (derived from the workspace keyring, so every
    process of one deployment agrees) of the session token's id (``jti``), which only the
    holder of the HttpOnly cookie knows: another site can neither read nor compute it, and
    a new login (new jti) makes old tokens worthless.
    """
    message = _CSRF_CONTEXT + (auth.credential_id or "").encode() + b"\x00"
    return hmac.new(server_key, message + auth.principal.name.encode(), hashlib.sha256).hexdigest()


def csrf_matches(caller: Caller, submitted: object) -> bool:
    """Whether ``submitted`` is this session's token (compared in constant time)."""
    if not caller.csrf or not isinstance(submitted, str) or len(submitted) > 128:
        return False
    return hmac.compare_digest(caller.csrf.encode(), submitted.encode())


def carries_api_credential(request: Request) -> bool:
    """Whether the request authenticates with a header rather than the cookie."""
    return bool(request.headers.get("authorization") or request.headers.get("x-api-key"))


def _source_host(request: Request) -> str | None:
    raw = request.headers.get("origin") or request.headers.get("referer")
    if not raw or raw == "null":
        return None
    parts = urlsplit(raw[:2048])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower()


def same_origin(request: Request, *, required: bool) -> bool:
    """Whether the request comes from a page of this host.

    ``required`` False lets requests without ``Origin`` and ``Referer`` through (API
    clients); a present header must still match.
    """
    source = _source_host(request)
    if source is None:
        present = request.headers.get("origin") or request.headers.get("referer")
        return not required and not present
    host = (request.headers.get("host") or "").lower()
    return bool(host) and hmac.compare_digest(source.encode(), host.encode())
