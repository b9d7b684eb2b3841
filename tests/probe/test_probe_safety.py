"""The probe's own conduct: URLs it refuses, what it sends, where it goes, how long it
waits, how much it reads."""

from __future__ import annotations

import json
import socket

import pytest
from probe_fakes import Reply, drip, fake_service, json_reply

from mlwarden.errors import UsageError
from mlwarden.probe.http_fetch import MAX_BODY_BYTES, parse_target
from mlwarden.probe.probe_run import probe_url

JUPYTER_ABOUT = json_reply({"version": "2.14.0"})


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:70/",
        "127.0.0.1:8888",
        "http://user:pw@127.0.0.1:8888/",
        "http://:token@127.0.0.1:8888/",
        "http://127.0.0.1:8888/?token=abc",
        "http://127.0.0.1:99999/",
        "http:///nohost",
    ],
)
def test_unusable_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        parse_target(url)


def test_requests_are_anonymous_gets() -> None:
    with fake_service({"/api": JUPYTER_ABOUT, "/api/kernels": json_reply([])}) as fake:
        probe_url(fake.url, timeout=5)
    assert fake.seen, "the probe sent nothing"
    for seen in fake.seen:
        assert seen.method == "GET"
        names = {name.lower() for name in seen.headers}
        assert not names & {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def test_redirects_to_another_origin_are_not_followed() -> None:
    with fake_service({"/api/kernels": json_reply([])}) as elsewhere:
        away = Reply(302, b"", (("Location", elsewhere.url + "/api/kernels"),))
        with fake_service({"/api": JUPYTER_ABOUT, "/api/kernels": away}) as fake:
            outcome = probe_url(fake.url, timeout=5)
    assert elsewhere.seen == []
    assert [f.rule_id for f in outcome.findings if f.rule_id != "MLW-PRB-090"] == []


def test_same_origin_redirects_are_followed() -> None:
    routes = {
        "/api": JUPYTER_ABOUT,
        "/api/kernels": Reply(302, b"", (("Location", "/real/kernels"),)),
        "/real/kernels": json_reply([]),
    }
    with fake_service(routes) as fake:
        outcome = probe_url(fake.url, timeout=5)
    assert [f.rule_id for f in outcome.findings] == ["MLW-PRB-010"]


def test_oversized_answers_are_cut_and_not_parsed() -> None:
    huge = json.dumps([{"id": "k" * 100}] * (MAX_BODY_BYTES // 50)).encode()
    assert len(huge) > MAX_BODY_BYTES
    routes = {"/api": JUPYTER_ABOUT, "/api/kernels": Reply(200, huge)}
    with fake_service(routes) as fake:
        outcome = probe_url(fake.url, timeout=5)
    assert [f.rule_id for f in outcome.findings] == []


def test_a_dripping_server_is_cut_off_and_the_scan_is_partial() -> None:
    routes = {"/api": JUPYTER_ABOUT, "/api/kernels": drip, "/api/contents": drip}
    with fake_service(routes) as fake:
        outcome = probe_url(fake.url, timeout=0.5)
    assert [f.split(":")[0] for f in outcome.failures] == ["GET /api/kernels", "GET /api/contents"]
    assert "timed out" in outcome.failures[0] or "in time" in outcome.failures[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_nothing_listening_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no answer"):
        probe_url(f"http://127.0.0.1:{_closed_port()}", timeout=2)


@pytest.mark.parametrize("timeout", [0, -1, 10_000])
def test_timeout_is_bounded(timeout: float) -> None:
    with pytest.raises(UsageError):
        probe_url("http://127.0.0.1:1/", timeout=timeout)
