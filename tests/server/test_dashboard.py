"""The web dashboard in-process: sign-in, CSRF and origin checks, pages per role, sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from server_fixtures import (
    ServerWorld,
    make_world,
    malicious_pickle,
    sklearn_model_bytes,
    upload,
)

from mlwarden.ledger.checkpoint import LedgerSigner
from mlwarden.server.dashboard.ledger_proof import check_inclusion
from mlwarden.server.guard import SESSION_COOKIE
from mlwarden.server.settings import RateSetting, ServerSettings

BASE = "https://testserver"
SAME_ORIGIN = {"Origin": BASE}
# Sign-ins all come from the test client's one address; keep the brute-force brake out of
# the way except in the test that is about it.
ROOMY = ServerSettings(auth_per_address=RateSetting(1000.0, 1000))


def browser(world: ServerWorld, **headers: str) -> TestClient:
    """A cookie-keeping client that sends what a browser on the dashboard's pages sends."""
    return TestClient(world.app, base_url=BASE, headers={**SAME_ORIGIN, **headers})


def sign_in(world: ServerWorld, who: str, otp: str = "") -> TestClient:
    client = browser(world)
    reply = client.post(
        "/ui/login",
        data={"name": who, "api_key": world.keys[who], "otp": otp},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def api_upload(world: ServerWorld, who: str, name: str, data: bytes | None = None) -> str:
    reply = upload(world.client(who), "fraud", name, data or sklearn_model_bytes())
    assert reply.status_code == 201, reply.text
    return str(reply.json()["artifact"]["reference"])


@pytest.fixture
def roomy(tmp_path: Path) -> Iterator[ServerWorld]:
    built = make_world(tmp_path / "ws", ROOMY)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerWorld]:
    """One world for tests that only read (pages per role)."""
    built = make_world(Path(tmp_path_factory.mktemp("dash")) / "ws", ROOMY)
    try:
        yield built
    finally:
        built.close()


# -- signing in ---------------------------------------------------------------------------


def test_login_sets_a_strict_session_cookie_and_shows_who_i_am(roomy: ServerWorld) -> None:
    client = browser(roomy)
    form = client.get("/ui/login")
    assert form.status_code == 200
    assert 'name="api_key"' in form.text
    reply = client.post(
        "/ui/login",
        data={"name": "dana", "api_key": roomy.keys["dana"]},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/ui/"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie.lower(), flag
    home = client.get("/ui/")
    assert home.status_code == 200
    assert "Welcome, dana" in home.text
    assert "data-scientist" in home.text
    assert 'href="/ui/projects/fraud"' in home.text


def test_root_sends_visitors_to_the_dashboard(roomy: ServerWorld) -> None:
    reply = browser(roomy).get("/", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/ui/"


def test_wrong_key_or_mismatched_name_is_refused_and_counted(roomy: ServerWorld) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    client = browser(roomy)
    attempts = [
        {"name": "dana", "api_key": roomy.keys["dana"][:-2] + "xx"},
        {"name": "dana", "api_key": roomy.keys["dave"]},  # a real key, of someone else
        {"name": "dana", "api_key": ""},
    ]
    for data in attempts:
        reply = client.post("/ui/login", data=data, follow_redirects=False)
        assert reply.status_code == 401
        assert "Sign-in failed" in reply.text
        assert "set-cookie" not in reply.headers
    assert roomy.ctx.identity.failed_logins("dana", since) == 3
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_login_with_an_authenticator_needs_the_current_code(roomy: ServerWorld) -> None:
    uri = roomy.ctx.identity.enroll_totp("dana")
    client = browser(roomy)
    without = client.post(
        "/ui/login", data={"name": "dana", "api_key": roomy.keys["dana"]}, follow_redirects=False
    )
    assert without.status_code == 401
    wrong = client.post(
        "/ui/login",
        data={"name": "dana", "api_key": roomy.keys["dana"], "otp": "000000"},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    code = pyotp.parse_uri(uri).now()
    client = sign_in(roomy, "dana", otp=code)
    assert "session (key, otp)" in client.get("/ui/").text


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Origin": "", "Referer": ""}],
    ids=["other-site", "opaque", "none"],
)
def test_login_from_another_site_is_refused(roomy: ServerWorld, headers: dict[str, str]) -> None:
    client = TestClient(roomy.app, base_url=BASE, headers=headers)
    reply = client.post(
        "/ui/login", data={"name": "dana", "api_key": roomy.keys["dana"]}, follow_redirects=False
    )
    assert reply.status_code == 403
    assert "set-cookie" not in reply.headers


def test_login_accepts_a_same_origin_referer_when_origin_is_absent(roomy: ServerWorld) -> None:
    client = TestClient(roomy.app, base_url=BASE, headers={"Referer": f"{BASE}/ui/login"})
    reply = client.post(
        "/ui/login", data={"name": "dana", "api_key": roomy.keys["dana"]}, follow_redirects=False
    )
    assert reply.status_code == 303


def test_repeated_login_attempts_are_braked(tmp_path: Path) -> None:
    world = make_world(tmp_path / "ws", ServerSettings(auth_per_address=RateSetting(0.001, 3)))
    try:
        client = browser(world)
        codes = [
            client.post("/ui/login", data={"name": "dana", "api_key": "mlw_nope"}).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # Even the right key waits once the brake is on.
        right = client.post("/ui/login", data={"name": "dana", "api_key": world.keys["dana"]})
        assert right.status_code == 429
    finally:
        world.close()


# -- CSRF and origin ----------------------------------------------------------------------


def test_forms_need_this_sessions_csrf_token(roomy: ServerWorld) -> None:
    ref = api_upload(roomy, "dana", "churn")
    client = sign_in(roomy, "dana")
    page = client.get(f"/ui/artifacts/{ref}")
    assert page.status_code == 200
    token = csrf_of(page.text)
    other_session_token = csrf_of(sign_in(roomy, "dana").get("/ui/").text)
    assert other_session_token != token
    url = f"/ui/artifacts/{ref}/promote/staging"
    for data in ({}, {"csrf": "0" * 64}, {"csrf": other_session_token}):
        refused = client.post(url, data=data, follow_redirects=False)
        assert refused.status_code == 403, data
        assert "Not allowed" in refused.text
    assert roomy.ctx.registry.promotions() == []
    accepted = client.post(url, data={"csrf": token}, follow_redirects=False)
    assert accepted.status_code == 303
    assert [p.to_stage for p in roomy.ctx.registry.promotions(status="pending")] == ["staging"]


def test_a_cross_site_post_is_refused_even_with_the_right_token(roomy: ServerWorld) -> None:
    ref = api_upload(roomy, "dana", "churn")
    client = sign_in(roomy, "dana")
    token = csrf_of(client.get(f"/ui/artifacts/{ref}").text)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "", "Referer": ""}):
        reply = client.post(
            f"/ui/artifacts/{ref}/promote/staging",
            data={"csrf": token},
            headers=headers,
            follow_redirects=False,
        )
        assert reply.status_code == 403
    assert roomy.ctx.registry.promotions() == []


def test_the_session_cookie_does_not_work_on_the_json_api(roomy: ServerWorld) -> None:
    client = sign_in(roomy, "dana")
    assert client.get("/api/v1/auth/whoami").status_code == 401


# -- pages per role -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("vera", "/ui/projects/fraud", 200),
        ("vera", "/ui/projects/vision", 403),
        ("vera", "/ui/ledger", 403),
        ("vera", "/ui/admin", 403),
        ("dana", "/ui/access", 403),
        ("nick", "/ui/projects/fraud", 403),
        ("abby", "/ui/promotions", 200),
        ("olga", "/ui/projects/fraud", 200),
        ("olga", "/ui/ledger", 200),
        ("olga", "/ui/access", 200),
        ("olga", "/ui/admin", 403),
        ("root", "/ui/admin", 200),
        ("root", "/ui/ledger", 200),
    ],
)
def test_pages_by_role(shared: ServerWorld, who: str, path: str, status: int) -> None:
    reply = sign_in(shared, who).get(path)
    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("text/html")
    if status == 403:
        assert "Not allowed" in reply.text


@pytest.mark.parametrize("path", ["/ui/", "/ui/projects/fraud", "/ui/ledger", "/ui/admin"])
def test_signed_out_visitors_are_sent_to_login(shared: ServerWorld, path: str) -> None:
    reply = browser(shared).get(path, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/ui/login")


def test_navigation_offers_only_what_the_role_reaches(shared: ServerWorld) -> None:
    viewer = sign_in(shared, "vera").get("/ui/").text
    assert 'href="/ui/ledger"' not in viewer and 'href="/ui/admin"' not in viewer
    admin = sign_in(shared, "root").get("/ui/").text
    assert 'href="/ui/ledger"' in admin and 'href="/ui/admin"' in admin


def test_unknown_artifact_is_a_not_found_page(shared: ServerWorld) -> None:
    reply = sign_in(shared, "dana").get("/ui/artifacts/no-such-model")
    assert reply.status_code == 404
    assert "Not found" in reply.text


# -- artifacts, promotions ----------------------------------------------------------------


def test_upload_scan_promote_and_approve_through_the_pages(
    roomy: ServerWorld, tmp_path: Path
) -> None:
    dana = sign_in(roomy, "dana")
    token = csrf_of(dana.get("/ui/projects/fraud").text)
    clean = dana.post(
        "/ui/projects/fraud/artifacts",
        data={"csrf": token, "name": "churn", "kind": "model", "labels": "note=<b>hi</b>"},
        files={"file": ("churn.pkl", sklearn_model_bytes(), "application/octet-stream")},
        follow_redirects=False,
    )
    assert clean.status_code == 303
    page = dana.get(clean.headers["location"])
    assert "Clean:" in page.text
    assert "note=&lt;b&gt;hi&lt;/b&gt;" in page.text  # escaped, never markup
    assert "Request promotion to staging" in page.text

    marker = tmp_path / "pwned"
    evil = dana.post(
        "/ui/projects/fraud/artifacts",
        data={"csrf": token, "name": "evil", "kind": "model"},
        files={"file": ("evil.pkl", malicious_pickle(marker), "application/octet-stream")},
    )
    assert evil.status_code == 200
    assert "Quarantined." in evil.text
    assert "Request promotion" not in evil.text
    assert not marker.exists()
    listing = dana.get("/ui/projects/fraud").text
    assert "quarantined" in listing and "churn:1" in listing

    requested = dana.post(
        "/ui/artifacts/churn:1/promote/staging",
        data={"csrf": token, "reason": "beats baseline"},
        follow_redirects=False,
    )
    assert requested.status_code == 303

    abby = sign_in(roomy, "abby")
    review = abby.get("/ui/promotions")
    assert "beats baseline" in review.text
    (promotion,) = roomy.ctx.registry.promotions(status="pending")
    voted = abby.post(
        f"/ui/promotions/{promotion.id}/approve",
        data={"csrf": csrf_of(review.text), "note": "ok"},
        follow_redirects=False,
    )
    assert voted.status_code == 303
    record = roomy.ctx.vault.resolve("churn:1")
    assert roomy.ctx.registry.stage(record.id) == "staging"


def test_the_uploader_cannot_approve_its_own_model(roomy: ServerWorld) -> None:
    ref = api_upload(roomy, "dana", "churn")
    reply = roomy.client("dana").post(f"/api/v1/artifacts/{ref}/promote/staging", json={})
    assert reply.status_code == 201
    dana = sign_in(roomy, "dana")
    token = csrf_of(dana.get("/ui/promotions").text)
    refused = dana.post(f"/ui/promotions/{reply.json()['id']}/approve", data={"csrf": token})
    assert refused.status_code == 403
    assert roomy.ctx.registry.promotions(status="pending")


# -- ledger -------------------------------------------------------------------------------


def test_auditor_sees_a_verified_inclusion_proof(roomy: ServerWorld) -> None:
    api_upload(roomy, "dana", "churn")
    roomy.ctx.ledger_writer.flush()
    olga = sign_in(roomy, "olga")
    listing = olga.get("/ui/ledger")
    assert listing.status_code == 200
    # The admission entry is appended and checkpointed before the upload returns.
    (seq,) = [e.seq for e in roomy.ctx.vault.ledger.entries() if e.entry.action == "registry.admit"]
    assert f'href="/ui/ledger/{seq}"' in listing.text
    entry = olga.get(f"/ui/ledger/{seq}")
    assert entry.status_code == 200
    assert "Verified:" in entry.text
    assert olga.get("/ui/ledger/999999").status_code == 404


def test_a_checkpoint_signed_by_another_key_does_not_verify(roomy: ServerWorld) -> None:
    api_upload(roomy, "dana", "churn")
    roomy.ctx.ledger_writer.flush()
    ledger = roomy.ctx.vault.ledger
    good = check_inclusion(ledger, roomy.ctx.vault.verifier, 0)
    assert good is not None and good.verified
    stranger = LedgerSigner.generate("stranger").verifier()
    bad = check_inclusion(ledger, stranger, 0)
    assert bad is not None
    assert not bad.signature_ok and not bad.verified


def test_access_page_lists_denials(roomy: ServerWorld) -> None:
    assert sign_in(roomy, "vera").get("/ui/admin").status_code == 403
    roomy.ctx.ledger_writer.flush()
    page = sign_in(roomy, "olga").get("/ui/access")
    assert page.status_code == 200
    assert "admin.principals" in page.text and "vera" in page.text


# -- administration -----------------------------------------------------------------------


def test_admin_issues_a_key_shown_once_and_revokes_it(roomy: ServerWorld) -> None:
    root = sign_in(roomy, "root")
    token = csrf_of(root.get("/ui/admin").text)
    issued = root.post(
        "/ui/admin/keys", data={"csrf": token, "principal": "vera", "label": "laptop"}
    )
    assert issued.status_code == 201
    plaintext = re.search(r'id="secret"[^>]*value="([^"]+)"', issued.text)
    assert plaintext is not None
    key = plaintext.group(1)
    api = TestClient(roomy.app, base_url=BASE, headers={"Authorization": f"Bearer {key}"})
    assert api.get("/api/v1/auth/whoami").json()["name"] == "vera"
    listing = root.get("/ui/admin").text
    assert key not in listing
    (info,) = [k for k in roomy.ctx.identity.list_api_keys("vera") if k.label == "laptop"]
    revoked = root.post(
        f"/ui/admin/keys/{info.key_id}/revoke", data={"csrf": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert api.get("/api/v1/auth/whoami").status_code == 401


def test_admin_creates_a_principal_and_grants_a_role(roomy: ServerWorld) -> None:
    root = sign_in(roomy, "root")
    token = csrf_of(root.get("/ui/admin").text)
    created = root.post("/ui/admin/principals", data={"csrf": token, "name": "zoe"})
    assert created.status_code == 200 and "Principal created." in created.text
    granted = root.post(
        "/ui/admin/grants",
        data={"csrf": token, "subject": "zoe", "role": "viewer", "project": "vision"},
    )
    assert granted.status_code == 200 and "Role granted." in granted.text
    zoe = roomy.ctx.identity.get("zoe")
    assert zoe is not None and zoe.roles_in("vision") == {"viewer"}
    bad = root.post("/ui/admin/grants", data={"csrf": token, "subject": "zoe", "role": "king"})
    assert bad.status_code == 422


# -- signing out --------------------------------------------------------------------------


def test_logout_ends_the_session(roomy: ServerWorld) -> None:
    client = sign_in(roomy, "dana")
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    token = csrf_of(client.get("/ui/").text)
    refused = client.post("/ui/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403  # sign-out is a form like any other
    out = client.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith("/ui/login")
    assert "max-age=0" in out.headers["set-cookie"].lower()
    replay = TestClient(roomy.app, base_url=BASE, cookies={SESSION_COOKIE: cookie})
    after = replay.get("/ui/", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/ui/login")
