"""The first administrator of a fresh server, and its one-time API key."""

from __future__ import annotations

from mlwarden.errors import UsageError
from mlwarden.identity.model import ALL_PROJECTS
from mlwarden.identity.names import check_name
from mlwarden.identity.store import IdentityStore
from mlwarden.store.catalog.db import advisory_lock, write_transaction

LOCK_IDENTITY_BOOTSTRAP = 0x6D6C0010
"""PostgreSQL advisory-lock class serialising bootstraps (see ``mlwarden.store.catalog.db``)."""

BOOTSTRAP_KEY_LABEL = "bootstrap"


def bootstrap_admin(store: IdentityStore, name: str) -> str:
    """Make ``name`` the first admin (role ``admin`` on ``"*"``); returns its API key.

    The principal is created unless it exists (and is enabled). The plaintext key is
    returned once and stored only as a hash. Refused with :class:`UsageError` when any
    admin binding exists already, so this cannot be used to mint a second admin; two
    servers bootstrapping at once take turns and the second is refused.
    """
    check_name(name)
    key_id, plaintext, digest = store._new_key_hash()
    with write_transaction(store.engine) as connection:
        advisory_lock(connection, LOCK_IDENTITY_BOOTSTRAP, "first-admin")
        if store._admin_exists(connection):
            raise UsageError(
                "bootstrap",
                "an administrator already exists",
                "ask an administrator to create accounts and keys",
            )
        row = store._principal_row(connection, name)
        if row is None:
            store._insert_principal(connection, name, "user", None)
            row = store._principal_row(connection, name)
            assert row is not None
        elif row.disabled:
            raise UsageError(f"principal {name!r}", "is disabled", "choose another name")
        store._insert_binding(connection, "principal", name, "admin", ALL_PROJECTS)
        store._insert_key(connection, row, key_id, digest, BOOTSTRAP_KEY_LABEL, None)
    return plaintext
