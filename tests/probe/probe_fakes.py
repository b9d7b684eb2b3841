"""Small fake ML services on 127.0.0.1 for probe tests.

Each fake answers a fixed table of paths (the documented endpoints of the service it
mimics, open or authenticated) and records every request it receives, so tests can
assert both what the probe concluded and what it sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(data: object, status: int = 200, **headers: str) -> Reply:
    return Reply(
        status,
        json.dumps(data).encode(),
        (("Content-Type", "application/json"), *headers.items()),
    )


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeService:
    routes: dict[str, Reply | Handler]
    default: Reply = field(default_factory=lambda: json_reply({"error": "not found"}, 404))
    seen: list[Seen] = field(default_factory=list)
    url: str = ""


def drip(handler: BaseHTTPRequestHandler) -> None:
    """Send headers, then one body byte every 50 ms for at most 10 s."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    for _ in range(200):
        try:
            handler.wfile.write(b" ")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.05)


def _handler_class(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            service.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
            route = service.routes.get(self.path) or service.routes.get(self.path.split("?")[0])
            reply = service.default if route is None else route
            if callable(reply):
                reply(self)
                return
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = _answer
        do_POST = _answer
        do_PUT = _answer
        do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def fake_service(
    routes: dict[str, Reply | Handler], default: Reply | None = None
) -> Iterator[FakeService]:
    """Serve ``routes`` on an ephemeral loopback port for the duration of the block."""
    service = FakeService(routes) if default is None else FakeService(routes, default)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(service))
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
