"""The dashboard end to end in a real browser (Debian's chromium) over TLS.

A data scientist uploads a clean model and a malicious pickle and asks for promotion, an
approver approves, and an auditor checks the approval's ledger entry against the signed
checkpoint, all through the pages, against uvicorn on a loopback port.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_fixtures import ServerWorld, make_world, malicious_pickle, sklearn_model_bytes

from mlwarden.server.settings import RateSetting, ServerSettings
from mlwarden.server.tls import dev_certificate

CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 20.0
STEP_MS = 15_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="the browser test needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[ServerWorld, str]]:
    """The app served by uvicorn over TLS on 127.0.0.1 (a free port), in a thread."""
    import uvicorn

    world = make_world(tmp_path / "ws", ServerSettings(auth_per_address=RateSetting(1000.0, 1000)))
    cert, key = dev_certificate(world.root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the port stays ours from here to uvicorn: no race
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        world.app,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield world, f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        world.close()


def test_upload_promote_approve_and_audit_in_a_browser(
    live: tuple[ServerWorld, str], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    world, base = live
    problems: list[str] = []

    def sign_in(page: Page, who: str) -> None:
        page.goto(f"{base}/ui/login")
        page.get_by_label("Principal name").fill(who)
        page.get_by_label("API key").fill(world.keys[who])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name=f"Welcome, {who}")).to_be_visible()

    def sign_out(page: Page) -> None:
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("You are signed out.")).to_be_visible()

    def upload(page: Page, name: str, data: bytes) -> None:
        page.goto(f"{base}/ui/projects/fraud")
        page.locator("#file").set_input_files(
            {"name": f"{name}.pkl", "mimeType": "application/octet-stream", "buffer": data}
        )
        page.locator("#name").fill(name)
        page.get_by_role("button", name="Upload and scan").click()
        expect(page.get_by_role("heading", name=f"{name}:1")).to_be_visible()

    marker = tmp_path / "payload-ran"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            context = browser.new_context(ignore_https_errors=True)
            context.set_default_timeout(STEP_MS)
            page = context.new_page()
            # CSP violations and script errors show up as console errors.
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

            # A data scientist uploads a clean model and a malicious pickle.
            sign_in(page, "dana")
            cookie = next(c for c in context.cookies() if c["name"] == "mlw_session")
            assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
            upload(page, "churn", sklearn_model_bytes())
            expect(page.get_by_text("Clean:")).to_be_visible()
            expect(page.get_by_text("No findings.")).to_be_visible()
            upload(page, "evil", malicious_pickle(marker))
            expect(page.get_by_text("Quarantined.")).to_be_visible()
            expect(page.get_by_role("button", name=re.compile("Request promotion"))).to_have_count(
                0
            )
            assert not marker.exists()

            # ... and asks for the clean one to go to staging.
            page.goto(f"{base}/ui/artifacts/churn:1")
            page.get_by_label("Reason").fill("ready for shadow traffic")
            page.get_by_role("button", name="Request promotion to staging").click()
            expect(page.get_by_text("Promotion requested")).to_be_visible()
            sign_out(page)

            # An approver approves it.
            sign_in(page, "abby")
            page.get_by_role("link", name="Promotions").click()
            row = page.get_by_role("row").filter(has_text="churn:1")
            expect(row).to_contain_text("ready for shadow traffic")
            row.get_by_role("button", name="Approve").click()
            expect(page.get_by_text("Your approval was recorded.")).to_be_visible()
            sign_out(page)
            record = world.ctx.vault.resolve("churn:1")
            assert world.ctx.registry.stage(record.id) == "staging"

            # An auditor finds the approval in the ledger and checks its proof.
            sign_in(page, "olga")
            page.get_by_role("link", name="Ledger").first.click()
            vote = page.get_by_role("row").filter(has_text="registry.promote.vote")
            expect(vote).to_contain_text("abby")
            vote.get_by_role("link", name=re.compile(r"Verify entry \d+")).click()
            expect(page.get_by_text("Verified:")).to_be_visible()
            expect(page.locator(".steps li.fail")).to_have_count(0)
            sign_out(page)
        finally:
            browser.close()
    assert not marker.exists()
    assert problems == []
