"""Alerts reach a local webhook, a local SMTP server and a ledger; the router dedups."""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from mlwarden.errors import UsageError
from mlwarden.findings import Severity
from mlwarden.monitor.alerts import (
    Alert,
    AlertRouter,
    LedgerSink,
    LogSink,
    Route,
    SmtpSink,
    WebhookSink,
)

ALERT = Alert(Severity.HIGH, "MLW-MON-001", "m:MLW-MON-001:f0", "f0 drifted", {"psi": 0.3})


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[Any]]]:
    received: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length", "0")), 1 << 16)
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(500 if self.path == "/fail" else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_slack_text(webhook: tuple[str, list[Any]]) -> None:
    url, received = webhook
    WebhookSink(url + "/hook").send(ALERT)
    WebhookSink(url + "/slack", slack=True).send(ALERT)
    assert received[0]["rule"] == "MLW-MON-001" and received[0]["details"] == {"psi": 0.3}
    assert set(received[1]) == {"text"} and "f0 drifted" in received[1]["text"]


def test_webhook_failure_is_an_oserror(webhook: tuple[str, list[Any]]) -> None:
    url, _ = webhook
    with pytest.raises(OSError, match="HTTP 500"):
        WebhookSink(url + "/fail").send(ALERT)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "http://"])
def test_webhook_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(UsageError):
        WebhookSink(url)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (bounded line and message sizes)."""

    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        data: list[bytes] = []
        in_data = False
        while True:
            line = self.rfile.readline(8192)
            if not line:
                return
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.server.messages.append(b"".join(data))  # type: ignore[attr-defined]
                    self.wfile.write(b"250 ok\r\n")
                elif sum(map(len, data)) < 1 << 20:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_smtp_sink_delivers_to_local_server() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sink = SmtpSink(
            "127.0.0.1",
            server.server_address[1],
            sender="monitor@example.org",
            recipients=["ops@example.org"],
            starttls=False,
        )
        sink.send(ALERT)
    finally:
        server.shutdown()
        server.server_close()
    (message,) = server.messages  # type: ignore[attr-defined]
    assert b"Subject: [mlwarden high] MLW-MON-001" in message
    assert b"f0 drifted" in message


def test_smtp_sink_refuses_credentials_without_tls() -> None:
    with pytest.raises(UsageError, match="clear text"):
        SmtpSink("h", 25, sender="a@b", recipients=["c@d"], starttls=False, username="u")


def test_ledger_sink_appends_an_entry() -> None:
    entries: list[Any] = []

    class Ledger:
        def append(self, entry: Any) -> None:
            entries.append(entry)

    LedgerSink(Ledger()).send(ALERT)
    assert entries[0].action == "monitor.alert"
    assert entries[0].details["rule"] == "MLW-MON-001"


class _Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Alert] = []
        self.fail = fail

    @property
    def name(self) -> str:
        return "recorder"

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise OSError("down")
        self.sent.append(alert)


def test_router_dedups_within_cooldown_and_routes_by_severity() -> None:
    now = [0.0]
    pager, everything, broken = _Recorder(), _Recorder(), _Recorder(fail=True)
    router = AlertRouter(
        [Route(pager, Severity.HIGH), Route(everything), Route(broken)],
        cooldown_s=60,
        clock=lambda: now[0],
    )
    medium = Alert(Severity.MEDIUM, "MLW-MON-002", "k2", "joint drift")
    router.dispatch([ALERT, ALERT, medium])
    assert pager.sent == [ALERT]
    assert everything.sent == [ALERT, medium]
    assert len(router.failures) == 2
    now[0] = 30
    router.dispatch([ALERT])
    assert len(everything.sent) == 2
    escalated = Alert(Severity.CRITICAL, "MLW-MON-002", "k2", "joint drift, worse")
    router.dispatch([escalated])
    assert everything.sent[-1] is escalated
    now[0] = 100
    router.dispatch([ALERT])
    assert everything.sent[-1] is ALERT
    assert pager.sent == [ALERT, escalated, ALERT]


def test_log_sink_logs_at_severity_level(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mlwarden.monitor.alerts"):
        LogSink().send(ALERT)
    assert caplog.records[0].levelno == logging.ERROR
    assert "MLW-MON-001" in caplog.text
