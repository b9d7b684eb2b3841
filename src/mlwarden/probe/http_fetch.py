"""Bounded, credential-free HTTP GETs for probing a service.

Every request has a hard deadline (the socket is shut down when it passes, so a server
that drips its headers one byte at a time cannot hold the probe), a cap on body bytes,
no cookies, no ``Authorization`` header, no proxy (``http.client`` does not read proxy
variables) and no automatic redirects: the caller may follow a redirect only within the
same origin. Only ``http`` and ``https`` URLs are accepted, and never with user
information in them.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

from mlwarden import __version__
from mlwarden.errors import UsageError

MAX_BODY_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
_USER_AGENT = f"mlwarden-probe/{__version__}"


class FetchError(Exception):
    """The request could not be completed (connection refused, reset, timed out)."""


@dataclass(frozen=True)
class Target:
    """The service under probe: origin and base path."""

    scheme: str
    host: str
    port: int
    base_path: str
    """Path prefix without trailing slash (``""`` or ``/jupyter``)."""

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` under the base path."""
        return self.origin + self.base_path + path


@dataclass(frozen=True)
class Answer:
    """What the server said to one GET."""

    url: str
    status: int
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes
    truncated: bool


def parse_target(url: str) -> Target:
    """Validate a probe URL; raise :class:`UsageError` (exit code 2) when it is unusable."""
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError(
            url, f"not a valid URL ({exc})", "use e.g. http://127.0.0.1:5000"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(
            url, f"scheme {scheme or '(none)'!r} is not probed", "use an http:// or https:// URL"
        )
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            url,
            "the URL contains credentials; the probe never sends credentials",
            "remove user:password@ from the URL: the probe checks what anonymous clients get",
        )
    if not parts.hostname:
        raise UsageError(url, "the URL has no host", "use e.g. http://127.0.0.1:5000")
    if parts.query or parts.fragment:
        raise UsageError(url, "the URL has a query or fragment", "give the service's base URL")
    default = 443 if scheme == "https" else 80
    return Target(scheme, parts.hostname, port or default, parts.path.rstrip("/"))


def _read_body(
    response: http.client.HTTPResponse, limit: int, deadline: float
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        if time.monotonic() > deadline:
            raise FetchError("the response body did not arrive in time")
        chunk = response.read1(min(65_536, limit + 1 - size))
        if not chunk:
            if time.monotonic() >= deadline:
                # The watchdog shut the socket down: an end that is a cut, not the answer.
                raise FetchError("the response body did not arrive in time")
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit], True


def _get_once(target: Target, url: str, timeout: float, limit: int) -> Answer:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    deadline = time.monotonic() + timeout
    watchdog: threading.Timer | None = None
    try:
        connection.connect()
        sock = connection.sock

        def cut() -> None:
            # A server may answer a byte at a time; shutting the socket down ends any
            # read blocked on it, whatever http.client is in the middle of.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(timeout, cut)
        watchdog.daemon = True
        watchdog.start()
        connection.request(
            "GET",
            path,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )
        response = connection.getresponse()
        body, truncated = _read_body(response, limit, deadline)
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(url, response.status, headers, body, truncated)
    except (OSError, http.client.HTTPException) as exc:
        reason = "timed out" if time.monotonic() > deadline else f"{type(exc).__name__}: {exc}"
        raise FetchError(reason) from None
    finally:
        if watchdog is not None:
            watchdog.cancel()
        connection.close()


def fetch(target: Target, path: str, *, timeout: float, limit: int = MAX_BODY_BYTES) -> Answer:
    """GET ``path`` under ``target``; follow at most :data:`MAX_REDIRECTS` redirects that
    stay on the same origin (anything else is returned as the 3xx answer)."""
    url = target.url(path)
    answer = _get_once(target, url, timeout, limit)
    for _ in range(MAX_REDIRECTS):
        location = answer.headers.get("location")
        if answer.status not in (301, 302, 303, 307, 308) or not location:
            return answer
        nxt = urljoin(url, location)
        if not nxt.startswith(target.origin + "/") and nxt != target.origin:
            return answer
        url = nxt
        answer = _get_once(target, url, timeout, limit)
    return answer
