"""Pure-ASGI middleware (no per-request task switching): security headers and body limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_PAGE_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    b"https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


_COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_AFTER_CSP = (
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
_HSTS = ((b"strict-transport-security", b"max-age=31536000"),)


def _security_headers(csp: bytes, secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    return (
        *_COMMON_HEADERS,
        (b"content-security-policy", csp),
        *_AFTER_CSP,
        *(_HSTS if secure else ()),
    )


class Hardening:
    """Two guards around every HTTP exchange, in one layer (one pair of wrappers):

    * security headers on every response: HSTS (when TLS), no-sniff, no framing, a strict
      CSP, no referrer, no caching;
    * a body limit: bodies over the limit are refused with 413, counting bytes as they
      arrive (a missing or lying Content-Length does not get past it). Uploads have their
      own, larger limit.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool, default: int, uploads: int) -> None:
        self.app = app
        self.hsts = hsts
        self.default = default
        self.uploads = uploads
        self._headers = {
            (csp, secure): _security_headers(csp, secure)
            for csp in (_API_CSP, _PAGE_CSP, _DOCS_CSP)
            for secure in (False, True)
        }

    def _limit(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        is_upload = scope.get("method") == "POST" and path.endswith("/artifacts")
        return self.uploads if is_upload else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = (
            _DOCS_CSP
            if path.endswith("/docs")
            else (_PAGE_CSP if path.startswith("/ui") or path == "/" else _API_CSP)
        )
        extra = self._headers[csp, self.hsts and scope.get("scheme") == "https"]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _reject(send_with_headers, limit)
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await _reject(send_with_headers, limit)


class _TooLarge(Exception):
    pass


async def _reject(send: Send, limit: int) -> None:
    body = b'{"detail":"request body larger than %d bytes"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
