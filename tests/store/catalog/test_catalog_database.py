"""Opening the catalog database: URL resolution, engine tuning, migrations and refusals."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from store.database_targets import DatabaseTarget

from mlwarden.errors import UsageError
from mlwarden.store.catalog.db import (
    ENV_VAR,
    alembic_config,
    open_database,
    resolve_database_url,
)
from mlwarden.store.catalog.schema import Base

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


# ---------------------------------------------------------------------------- URL choice


def test_explicit_url_wins_then_environment_then_default(tmp_path: Path) -> None:
    default = tmp_path / "home" / "catalog.db"
    env = {ENV_VAR: "postgresql://svc@db.internal/mlw"}
    assert resolve_database_url(None, default_path=default, environ={}) == f"sqlite:///{default}"
    assert (
        resolve_database_url(None, default_path=default, environ=env)
        == "postgresql+psycopg://svc@db.internal/mlw"
    )
    assert (
        resolve_database_url("sqlite:////x/y.db", default_path=default, environ=env)
        == "sqlite:////x/y.db"
    )


def test_environment_variable_is_read_from_the_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env.db"))
    assert resolve_database_url(None, default_path=tmp_path / "default.db") == (
        f"sqlite:///{tmp_path / 'from-env.db'}"
    )


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("postgres://u@h:5433/d", "postgresql+psycopg://u@h:5433/d"),
        ("postgresql://u@h/d?sslmode=require", "postgresql+psycopg://u@h/d?sslmode=require"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite+pysqlite:////srv/c.db", "sqlite:////srv/c.db"),
    ],
)
def test_supported_urls_are_normalised(given: str, resolved: str) -> None:
    assert resolve_database_url(given, environ={}) == resolved


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    assert resolve_database_url(str(tmp_path / "c.db"), environ={}) == f"sqlite:///{tmp_path}/c.db"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("mysql://root:hunter2@h/d", "not a SQLite or PostgreSQL"),
        ("postgresql+psycopg2://u:hunter2@h/d", "not a SQLite or PostgreSQL"),
    ],
)
def test_unsupported_urls_are_refused_without_leaking_passwords(url: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as caught:
        resolve_database_url(url, environ={})
    assert "hunter2" not in str(caught.value)


def test_no_url_and_no_default_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=ENV_VAR):
        resolve_database_url(None, environ={})


# ------------------------------------------------------------------------- engine tuning


def test_sqlite_is_owner_only_wal_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "new" / "catalog.db"
    engine = open_database(default_path=path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "secure_delete")
            }
            assert pragma == {
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 30000,
                "secure_delete": 1,
            }
            with pytest.raises(IntegrityError):  # foreign keys are enforced
                connection.execute(text("INSERT INTO artifact_labels VALUES (99, 'k', 'v')"))
    finally:
        engine.dispose()


def test_schema_option_is_for_postgresql_only(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="PostgreSQL only"):
        open_database(f"sqlite:///{tmp_path / 'c.db'}", schema="tenant")


def test_schema_names_are_plain_identifiers() -> None:
    with pytest.raises(UsageError, match="identifier"):
        open_database("postgresql://postgres@127.0.0.1/test", schema='x"; DROP SCHEMA public; --')


def test_a_file_that_is_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not SQLite " * 100)
    with pytest.raises(UsageError, match="cannot be used"):
        open_database(default_path=path)


def test_unreachable_server_is_a_usage_error() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(UsageError, match="cannot be used") as caught:
        open_database("postgresql://postgres:hunter2@127.0.0.1:1/test")
    assert "hunter2" not in str(caught.value)


# ---------------------------------------------------------------------------- migrations


def test_migrated_schema_matches_schema_module(blank_database: DatabaseTarget) -> None:
    engine = blank_database.open()
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert differences == []
            assert MigrationContext.configure(connection).get_current_heads() == (HEAD,)
    finally:
        engine.dispose()


def test_migrations_downgrade_and_upgrade_again(blank_database: DatabaseTarget) -> None:
    engine = blank_database.open()
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            assert MigrationContext.configure(connection).get_current_heads() == ()
            command.upgrade(config, "head")
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_opening_again_keeps_the_schema(database: DatabaseTarget) -> None:
    for _ in range(2):
        engine = database.open()
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (HEAD,)
        engine.dispose()


def test_a_schema_from_a_newer_mlwarden_is_refused(blank_database: DatabaseTarget) -> None:
    blank_database.open().dispose()
    engine = blank_database.plain_engine()
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    for migrate in (True, False):
        with pytest.raises(UsageError, match="newer than this mlwarden") as caught:
            blank_database.open(migrate=migrate)
        assert "upgrade mlwarden" in str(caught.value)


def test_an_older_schema_is_only_upgraded_when_allowed(blank_database: DatabaseTarget) -> None:
    with pytest.raises(UsageError, match="older than this mlwarden"):
        blank_database.open(migrate=False)
    blank_database.open().dispose()
    blank_database.open(migrate=False).dispose()


def test_a_database_with_foreign_tables_is_refused(blank_database: DatabaseTarget) -> None:
    engine = blank_database.plain_engine()
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()
    with pytest.raises(UsageError, match=r"not an mlwarden catalog \(customers\)"):
        blank_database.open()


_OPEN = """
import sys, time
from pathlib import Path
from mlwarden.store.catalog.db import open_database
while not Path(sys.argv[3]).exists():
    time.sleep(0.005)
open_database(sys.argv[1], schema=None if sys.argv[2] == "-" else sys.argv[2]).dispose()
"""


def test_processes_opening_a_blank_database_at_once_migrate_it_once(
    blank_database: DatabaseTarget, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    arguments = [blank_database.url, blank_database.schema or "-", str(go)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN, *arguments],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    go.touch()
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    engine = blank_database.open(migrate=False)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (HEAD,)
    finally:
        engine.dispose()
