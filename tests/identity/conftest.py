"""Fixtures for the identity tests.

- ``engine``: a migrated catalog database; SQLite under ``tmp_path`` always, and
  ``any_engine`` runs a test once on SQLite and once on PostgreSQL (one schema per
  session, emptied before each test and dropped at the end; skipped when unreachable).
- ``clock``: a settable time source, so expiry and TOTP steps need no sleeping.
- ``store``: an :class:`IdentityStore` on ``engine`` with cheap argon2 costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from identity.identity_support import Clock, make_store
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from store.database_targets import POSTGRES_URL, PostgresSchemas

from mlwarden.identity.store import IdentityStore
from mlwarden.store.catalog.db import open_database
from mlwarden.store.catalog.schema import Base


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


@pytest.fixture
def engine(sqlite_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{sqlite_path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with probe.connect():
            pass
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        probe.dispose()
    schemas = PostgresSchemas(POSTGRES_URL)
    schema = schemas.new()
    open_database(POSTGRES_URL, schema=schema).dispose()
    yield schema
    schemas.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty catalog database on each engine in turn."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
        return
    engine = open_database(POSTGRES_URL, schema=request.getfixturevalue("postgres_schema"))
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine, clock: Clock) -> IdentityStore:
    """An identity store on the SQLite catalog."""
    return make_store(engine, clock)


@pytest.fixture
def any_store(any_engine: Engine, clock: Clock) -> IdentityStore:
    """An identity store on SQLite, then on PostgreSQL."""
    return make_store(any_engine, clock)
