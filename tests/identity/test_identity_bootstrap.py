"""The first administrator: created once, with a key that works, never a second time."""

from __future__ import annotations

import pytest

from mlwarden.errors import UsageError
from mlwarden.identity.bootstrap import bootstrap_admin
from mlwarden.identity.model import RoleBinding
from mlwarden.identity.store import IdentityStore


def test_the_first_admin_gets_global_admin_and_a_working_key(any_store: IdentityStore) -> None:
    plaintext = bootstrap_admin(any_store, "root-admin")
    auth = any_store.verify_api_key(plaintext)
    assert auth.principal.name == "root-admin"
    assert auth.principal.bindings == (RoleBinding("admin", "*"),)
    assert auth.principal.has_global("admin")
    [key] = any_store.list_api_keys("root-admin")
    assert key.label == "bootstrap" and key.expires_at is None


def test_a_second_bootstrap_is_refused(any_store: IdentityStore) -> None:
    bootstrap_admin(any_store, "root-admin")
    with pytest.raises(UsageError, match="already exists"):
        bootstrap_admin(any_store, "second-admin")
    assert any_store.get("second-admin") is None


def test_any_existing_admin_binding_blocks_bootstrap(store: IdentityStore) -> None:
    store.create_project("fraud")
    store.grant("group:ops", "admin", "fraud")
    with pytest.raises(UsageError, match="already exists"):
        bootstrap_admin(store, "root-admin")


def test_an_existing_principal_can_become_the_first_admin(store: IdentityStore) -> None:
    store.create_principal("alice")
    plaintext = bootstrap_admin(store, "alice")
    assert store.verify_api_key(plaintext).principal.has_global("admin")


def test_a_disabled_principal_cannot_become_the_first_admin(store: IdentityStore) -> None:
    store.create_principal("bob")
    store.disable("bob")
    with pytest.raises(UsageError, match="disabled"):
        bootstrap_admin(store, "bob")
    assert store.list_grants() == []


def test_bad_names_are_usage_errors(store: IdentityStore) -> None:
    with pytest.raises(UsageError, match="not a valid name"):
        bootstrap_admin(store, "Root Admin")
