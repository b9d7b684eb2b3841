"""IdentityStore: principals, groups and bindings, API keys, TOTP, failed sign-ins.

Tests taking ``any_store`` run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from identity.identity_support import Clock, make_store
from sqlalchemy import Engine, select, update

from mlwarden.errors import UsageError
from mlwarden.identity.model import AuthenticationError, RoleBinding
from mlwarden.identity.store import IdentityStore
from mlwarden.identity.tables import ApiKeyRow

# ------------------------------------------------------------------------- principals


def test_principals_are_created_once_and_read_back(any_store: IdentityStore) -> None:
    made = any_store.create_principal("alice")
    assert (made.name, made.kind, made.disabled, made.bindings, made.groups) == (
        "alice",
        "user",
        False,
        (),
        (),
    )
    assert any_store.get("alice") == made
    assert any_store.get("bob") is None
    any_store.create_principal("etl-bot", kind="service", oidc_subject="svc|etl")
    assert any_store.by_oidc_subject("svc|etl") == any_store.get("etl-bot")
    assert [p.name for p in any_store.list_principals()] == ["alice", "etl-bot"]
    with pytest.raises(UsageError, match="already exists"):
        any_store.create_principal("alice")
    with pytest.raises(UsageError, match="already linked"):
        any_store.create_principal("carol", oidc_subject="svc|etl")


@pytest.mark.parametrize("name", ["", "Alice", "-x", "a" * 64, "group:x", "a/b", "é"])
def test_malformed_names_are_usage_errors(store: IdentityStore, name: str) -> None:
    with pytest.raises(UsageError, match="not a valid name"):
        store.create_principal(name)


def test_unknown_kinds_and_roles_are_usage_errors(store: IdentityStore) -> None:
    with pytest.raises(UsageError, match="kind"):
        store.create_principal("alice", kind="robot")
    store.create_principal("alice")
    with pytest.raises(UsageError, match="not a role"):
        store.grant("alice", "superuser")


# ----------------------------------------------------------------- groups and bindings


def test_roles_come_from_direct_and_group_bindings(any_store: IdentityStore) -> None:
    for project in ("fraud", "churn"):
        any_store.create_project(project)
    any_store.create_principal("alice")
    any_store.create_principal("bob")
    assert any_store.grant("alice", "viewer", "fraud")
    assert not any_store.grant("alice", "viewer", "fraud")  # already bound
    any_store.grant("group:scientists", "data-scientist", "churn")
    any_store.grant("group:auditors", "auditor")
    any_store.add_to_group("scientists", "alice")
    any_store.add_to_group("auditors", "alice")
    any_store.add_to_group("scientists", "bob")

    alice = any_store.get("alice")
    assert alice is not None
    assert alice.groups == ("auditors", "scientists")
    assert set(alice.bindings) == {
        RoleBinding("viewer", "fraud"),
        RoleBinding("data-scientist", "churn"),
        RoleBinding("auditor", "*"),
    }
    assert alice.roles_in("fraud") == {"viewer", "auditor"}
    assert alice.roles_in("churn") == {"data-scientist", "auditor"}
    assert alice.roles_in("other") == {"auditor"}
    assert alice.has_global("auditor") and not alice.has_global("viewer")
    assert any_store.list_groups() == {"auditors": ("alice",), "scientists": ("alice", "bob")}
    assert {p.name: p for p in any_store.list_principals()}["alice"] == alice

    assert any_store.remove_from_group("scientists", "alice")
    assert not any_store.remove_from_group("scientists", "alice")
    assert any_store.revoke("alice", "viewer", "fraud")
    alice = any_store.get("alice")
    assert alice is not None and alice.roles_in("churn") == {"auditor"}
    assert alice.roles_in("fraud") == {"auditor"}
    bob = any_store.get("bob")
    assert bob is not None and bob.roles_in("churn") == {"data-scientist"}


def test_grants_need_an_existing_principal_and_project(store: IdentityStore) -> None:
    store.create_principal("alice")
    with pytest.raises(UsageError, match="does not exist"):
        store.grant("alice", "viewer", "nowhere")
    with pytest.raises(UsageError, match="does not exist"):
        store.grant("mallory", "viewer")
    with pytest.raises(UsageError, match="does not exist"):
        store.add_to_group("scientists", "mallory")
    store.grant("group:future", "viewer")  # groups exist by being used
    assert store.list_grants() == [("group:future", RoleBinding("viewer", "*"))]


def test_projects_are_listed_and_unique(any_store: IdentityStore) -> None:
    any_store.create_project("fraud")
    any_store.create_project("churn")
    assert any_store.list_projects() == ["churn", "fraud"]
    with pytest.raises(UsageError, match="already exists"):
        any_store.create_project("fraud")
    with pytest.raises(UsageError, match="not a valid name"):
        any_store.create_project("*")


def test_oidc_login_maps_by_subject_then_unlinked_name(any_store: IdentityStore) -> None:
    any_store.create_principal("alice", oidc_subject="sub-alice")
    any_store.create_principal("bob")
    assert (p := any_store.for_oidc("sub-alice", "whatever")) and p.name == "alice"
    assert (p := any_store.for_oidc("sub-bob", "bob")) and p.name == "bob"
    # A provider account calling itself "alice" does not get the linked alice.
    assert any_store.for_oidc("sub-mallory", "alice") is None
    assert any_store.for_oidc("sub-mallory", None) is None
    any_store.set_oidc_subject("bob", "sub-bob")
    assert any_store.for_oidc("sub-other", "bob") is None


# ---------------------------------------------------------------------------- API keys


def test_a_key_is_shown_once_and_only_its_hash_is_stored(
    store: IdentityStore, engine: Engine, sqlite_path: Path
) -> None:
    store.create_principal("alice")
    plaintext, info = store.issue_api_key("alice", label="laptop")
    assert plaintext.startswith(f"mlw_{info.key_id}_")
    assert (info.principal, info.label, info.revoked_at) == ("alice", "laptop", None)
    assert store.list_api_keys("alice") == [info]
    assert plaintext not in repr(store.list_api_keys())

    with engine.connect() as connection:
        stored = connection.execute(select(ApiKeyRow.secret_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    engine.dispose()  # checkpoint the WAL into the file, then read every byte on disk
    secret_part = plaintext.rsplit("_", 1)[1].encode()
    for path in sqlite_path.parent.glob("catalog.db*"):
        data = path.read_bytes()
        assert plaintext.encode() not in data
        assert secret_part not in data


def test_keys_authenticate_their_principal(any_store: IdentityStore) -> None:
    any_store.create_principal("alice")
    plaintext, info = any_store.issue_api_key("alice")
    auth = any_store.verify_api_key(plaintext)
    assert auth.principal == any_store.get("alice")
    assert (auth.method, auth.factors, auth.credential_id) == (
        "api_key",
        frozenset({"key"}),
        info.key_id,
    )


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def test_wrong_unknown_and_malformed_keys_fail_alike(any_store: IdentityStore) -> None:
    any_store.create_principal("alice")
    plaintext, _ = any_store.issue_api_key("alice")
    unknown = "mlw_0123456789abcdef_" + plaintext.rsplit("_", 1)[1]
    for attempt in (_flip_last(plaintext), unknown, "mlw_x", "", plaintext + "x", "Bearer"):
        with pytest.raises(AuthenticationError) as caught:
            any_store.verify_api_key(attempt)
        assert str(caught.value) == caught.value.reason == "invalid credentials"


def test_revoked_and_expired_keys_are_refused(any_store: IdentityStore, clock: Clock) -> None:
    any_store.create_principal("alice")
    revoked, revoked_info = any_store.issue_api_key("alice")
    expiring, _ = any_store.issue_api_key("alice", ttl=timedelta(hours=1))
    any_store.verify_api_key(revoked)
    any_store.verify_api_key(expiring)

    any_store.revoke_api_key(revoked_info.key_id)
    clock.advance(timedelta(hours=1))
    for key in (revoked, expiring):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            any_store.verify_api_key(key)
    listed = any_store.get_api_key(revoked_info.key_id)
    assert listed is not None and listed.revoked_at is not None
    assert not listed.active_at(clock.now)
    with pytest.raises(UsageError, match="does not exist"):
        any_store.revoke_api_key("0000000000000000")
    with pytest.raises(UsageError, match="positive"):
        any_store.issue_api_key("alice", ttl=timedelta(0))


def test_keys_of_disabled_principals_are_refused(any_store: IdentityStore) -> None:
    any_store.create_principal("alice")
    plaintext, _ = any_store.issue_api_key("alice")
    any_store.verify_api_key(plaintext)
    any_store.disable("alice")
    with pytest.raises(AuthenticationError):
        any_store.verify_api_key(plaintext)
    with pytest.raises(UsageError, match="disabled"):
        any_store.issue_api_key("alice")
    any_store.enable("alice")
    assert any_store.verify_api_key(plaintext).principal.name == "alice"


def test_the_verified_key_cache_never_outlives_revocation(
    any_store: IdentityStore, any_engine: Engine, clock: Clock
) -> None:
    any_store.create_principal("alice")
    mine, mine_info = any_store.issue_api_key("alice")
    theirs, theirs_info = any_store.issue_api_key("alice")
    any_store.verify_api_key(mine)
    any_store.verify_api_key(theirs)

    any_store.revoke_api_key(mine_info.key_id)  # through this process
    make_store(any_engine, clock).revoke_api_key(theirs_info.key_id)  # through another one
    for key in (mine, theirs):
        with pytest.raises(AuthenticationError):
            any_store.verify_api_key(key)


def test_a_cached_verification_lasts_a_minute_then_the_hash_is_checked_again(
    store: IdentityStore, engine: Engine, clock: Clock
) -> None:
    store.create_principal("alice")
    plaintext, info = store.issue_api_key("alice")
    store.verify_api_key(plaintext)
    # Break the stored hash: only a cached verification can still succeed.
    with engine.begin() as connection:
        connection.execute(update(ApiKeyRow).values(secret_hash="$argon2id$broken"))
    clock.advance(timedelta(seconds=59))
    assert store.verify_api_key(plaintext).credential_id == info.key_id
    clock.advance(timedelta(seconds=2))
    with pytest.raises(AuthenticationError):
        store.verify_api_key(plaintext)


def test_a_cached_verification_never_outlives_the_key(store: IdentityStore, clock: Clock) -> None:
    store.create_principal("alice")
    plaintext, _ = store.issue_api_key("alice", ttl=timedelta(seconds=20))
    store.verify_api_key(plaintext)
    clock.advance(timedelta(seconds=20))
    with pytest.raises(AuthenticationError):
        store.verify_api_key(plaintext)


def test_last_use_is_recorded_at_most_once_a_minute(any_store: IdentityStore, clock: Clock) -> None:
    any_store.create_principal("alice")
    plaintext, info = any_store.issue_api_key("alice")
    first = clock.now
    any_store.verify_api_key(plaintext)
    clock.advance(timedelta(seconds=30))
    any_store.verify_api_key(plaintext)
    assert (key := any_store.get_api_key(info.key_id)) and key.last_used_at == first
    clock.advance(timedelta(seconds=31))
    any_store.verify_api_key(plaintext)
    assert (key := any_store.get_api_key(info.key_id)) and key.last_used_at == clock.now


def test_key_labels_are_bounded(store: IdentityStore) -> None:
    store.create_principal("alice")
    for label in ("x" * 201, "line\nbreak"):
        with pytest.raises(UsageError, match="label"):
            store.issue_api_key("alice", label=label)


# -------------------------------------------------------------------------------- TOTP


def _seed(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["secret"][0]


def test_totp_codes_are_accepted_once(any_store: IdentityStore, clock: Clock) -> None:
    any_store.create_principal("alice")
    uri = any_store.enroll_totp("alice")
    assert uri.startswith("otpauth://totp/mlwarden:alice?") and "issuer=mlwarden" in uri
    assert (p := any_store.get("alice")) and p.totp_enrolled
    authenticator = pyotp.TOTP(_seed(uri))

    code = authenticator.at(clock.now)
    assert any_store.verify_totp("alice", code)
    assert not any_store.verify_totp("alice", code)  # replayed within the same step
    clock.advance(timedelta(seconds=30))
    assert not any_store.verify_totp("alice", code)  # still inside the drift window
    assert any_store.verify_totp("alice", authenticator.at(clock.now))


def test_totp_refuses_old_wrong_and_malformed_codes(store: IdentityStore, clock: Clock) -> None:
    store.create_principal("alice")
    authenticator = pyotp.TOTP(_seed(store.enroll_totp("alice")))
    late = authenticator.at(clock.now + timedelta(seconds=30))  # next step, within drift
    assert store.verify_totp("alice", late)
    assert not store.verify_totp("alice", authenticator.at(clock.now))  # older than accepted
    stale = authenticator.at(clock.now - timedelta(minutes=5))
    clock.advance(timedelta(minutes=2))
    current = authenticator.at(clock.now)
    for code in (stale, f"{(int(current) + 1) % 1_000_000:06d}", "12345", "abcdef", " " + current):
        assert not store.verify_totp("alice", code)
    assert store.verify_totp("alice", current)


def test_totp_for_the_unenrolled_unknown_and_disabled_is_refused(
    store: IdentityStore, clock: Clock
) -> None:
    store.create_principal("alice")
    assert not store.verify_totp("alice", "000000")
    assert not store.verify_totp("nobody", "000000")
    authenticator = pyotp.TOTP(_seed(store.enroll_totp("alice")))
    store.disable("alice")
    assert not store.verify_totp("alice", authenticator.at(clock.now))


def test_reenrolment_needs_replace_and_invalidates_the_old_seed(
    store: IdentityStore, clock: Clock
) -> None:
    store.create_principal("alice")
    old = pyotp.TOTP(_seed(store.enroll_totp("alice")))
    with pytest.raises(UsageError, match="already has an authenticator"):
        store.enroll_totp("alice")
    new = pyotp.TOTP(_seed(store.enroll_totp("alice", replace=True)))
    assert not store.verify_totp("alice", old.at(clock.now))
    assert store.verify_totp("alice", new.at(clock.now))
    store.reset_totp("alice")
    assert (p := store.get("alice")) and not p.totp_enrolled


def test_totp_seeds_are_sealed_at_rest(
    store: IdentityStore, engine: Engine, clock: Clock, sqlite_path: Path
) -> None:
    store.create_principal("alice")
    seed = _seed(store.enroll_totp("alice"))
    other_secret = make_store(engine, clock, secret=b"\x01" * 32)
    assert not other_secret.verify_totp("alice", pyotp.TOTP(seed).at(clock.now))
    engine.dispose()
    for path in sqlite_path.parent.glob("catalog.db*"):
        assert seed.encode() not in path.read_bytes()


# ------------------------------------------------------------------------ failed logins


def test_failed_logins_are_counted_per_name_since_a_time(
    any_store: IdentityStore, clock: Clock
) -> None:
    start = clock.now
    any_store.record_failed_login("alice", "192.0.2.7")
    clock.advance(timedelta(minutes=10))
    any_store.record_failed_login("alice", "2001:db8::1")
    any_store.record_failed_login("ghost", "192.0.2.7")  # names need not exist
    assert any_store.failed_logins("alice", start) == 2
    assert any_store.failed_logins("alice", clock.now) == 1
    assert any_store.failed_logins("ghost", start) == 1
    assert any_store.prune_failed_logins(clock.now) == 1
    assert any_store.failed_logins("alice", start) == 1


def test_the_secret_must_be_32_bytes(engine: Engine) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        IdentityStore(engine, b"short")
