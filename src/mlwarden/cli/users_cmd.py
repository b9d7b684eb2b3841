"""``mlwarden users``: principals, roles and API keys from the command line.

The server has no default account: ``bootstrap-admin`` makes the first admin and prints
its API key once. Everything after that can also be done through the admin API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from mlwarden.cli.vault_cmds import HomeOption

users_app = typer.Typer(help="Principals, role bindings and API keys.", no_args_is_help=True)


@contextmanager
def _identity(home: Path | None) -> Iterator[Any]:
    from mlwarden.cli.vault_cmds import _credential
    from mlwarden.identity.store import IdentityStore
    from mlwarden.server.context import IDENTITY_PURPOSE
    from mlwarden.store.workspace_vault import open_keys, open_vault
    from mlwarden.workspace import default_home, load_config

    root = home or default_home()
    credential = _credential()
    vault = open_vault(root, credential)
    try:
        _keys, keyring = open_keys(load_config(root), credential)
        yield vault, IdentityStore(vault.engine, keyring.derive_key(IDENTITY_PURPOSE))
    finally:
        vault.close()


@users_app.command("bootstrap-admin")
def bootstrap_admin(name: str, home: HomeOption = None) -> None:
    """Create the first admin (refused once an admin exists); prints its API key once."""
    from mlwarden.identity.bootstrap import bootstrap_admin as make_admin

    with _identity(home) as (vault, identity):
        key = make_admin(identity, name)
        vault.acting_as(name).audit("admin.bootstrap", "allow", None, {"name": name})
    print(f"Admin {name} created. API key (shown once, store it now):\n{key}")


@users_app.command("add")
def add(
    name: str,
    service: Annotated[bool, typer.Option(help="A service account, not a person.")] = False,
    role: Annotated[
        list[str] | None, typer.Option(help="ROLE@PROJECT (or ROLE@* for every project).")
    ] = None,
    key: Annotated[bool, typer.Option(help="Also issue an API key and print it once.")] = True,
    home: HomeOption = None,
) -> None:
    """Add a principal with role bindings."""
    bindings = [_binding(r) for r in role or []]
    with _identity(home) as (vault, identity):
        identity.create_principal(name, kind="service" if service else "user")
        for role_name, project in bindings:
            _ensure_project(identity, project)
            identity.grant(name, role_name, project)
        vault.audit("admin.principal.create", "allow", None, {"name": name, "roles": role or []})
        if key:
            plaintext, info = identity.issue_api_key(name, label="created with the principal")
            print(f"API key {info.key_id} for {name} (shown once):\n{plaintext}")


def _ensure_project(identity: Any, project: str) -> None:
    """Bindings name projects; the command line creates a missing one (and says so)."""
    if project != "*" and project not in identity.list_projects():
        identity.create_project(project)
        print(f"project {project} created")


def _binding(text: str) -> tuple[str, str]:
    from mlwarden.errors import UsageError

    role, sep, project = text.partition("@")
    if not sep or not role or not project:
        raise UsageError(f"--role {text}", "is not ROLE@PROJECT", "e.g. --role viewer@fraud")
    return role, project


@users_app.command("grant")
def grant(subject: str, binding: str, home: HomeOption = None) -> None:
    """Bind ROLE@PROJECT to a principal or to group:NAME."""
    role, project = _binding(binding)
    with _identity(home) as (vault, identity):
        _ensure_project(identity, project)
        identity.grant(subject, role, project)
        vault.audit(
            "admin.grant", "allow", None, {"subject": subject, "role": role, "project": project}
        )
    print(f"{subject}: {role} on {project}")


@users_app.command("key")
def issue_key(
    name: str,
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="Expire after N days.")] = None,
    home: HomeOption = None,
) -> None:
    """Issue an API key for NAME; printed once, stored only as an argon2 hash."""
    with _identity(home) as (vault, identity):
        plaintext, info = identity.issue_api_key(
            name, label=label, ttl=timedelta(days=days) if days else None
        )
        vault.audit("admin.key.issue", "allow", None, {"name": name, "key_id": info.key_id})
    print(f"API key {info.key_id} for {name} (shown once):\n{plaintext}")


@users_app.command("revoke-key")
def revoke_key(key_id: str, home: HomeOption = None) -> None:
    """Revoke an API key by its id."""
    with _identity(home) as (vault, identity):
        identity.revoke_api_key(key_id)
        vault.audit("admin.key.revoke", "allow", None, {"key_id": key_id})
    print(f"revoked {key_id}")


@users_app.command("ls")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """List principals and their bindings."""
    from mlwarden.server.routes.admin import principal_view

    with _identity(home) as (_vault, identity):
        rows = [principal_view(p) for p in identity.list_principals()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        roles = ", ".join(f"{b['role']}@{b['project']}" for b in row["bindings"]) or "-"
        state = " (disabled)" if row["disabled"] else ""
        print(f"{row['name']:<24} {row['kind']:<8} {roles}{state}")


def register(app: typer.Typer) -> None:
    from mlwarden.cli.serve_cmd import serve

    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
