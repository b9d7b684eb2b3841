"""Fixtures for the ledger tests.

- ``ledger_db``: an empty catalog database holding the ledger tables, once per engine
  (SQLite file, PostgreSQL schema), as a :class:`LedgerDatabase` that can also be opened
  from another process.
- ``signer``: a fresh Ed25519 checkpoint key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_fixtures import ORIGIN, POSTGRES_URL, LedgerDatabase, prepare_database
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from mlwarden.ledger import Ledger, LedgerSigner
from mlwarden.store.catalog.db import open_database


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """One migrated schema per session (and xdist worker); emptied before each test."""
    probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with probe.connect():
            pass
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        probe.dispose()
    schema = f"mlw_ledger_{uuid.uuid4().hex[:16]}"
    open_database(POSTGRES_URL, schema=schema).dispose()
    yield schema
    cleanup = create_engine(POSTGRES_URL)
    try:
        with cleanup.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        cleanup.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_db(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerDatabase:
    return prepare_database(request.param, request, tmp_path)


@pytest.fixture
def engine(ledger_db: LedgerDatabase) -> Iterator[Engine]:
    engine = ledger_db.open()
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine, ORIGIN)


@pytest.fixture
def signer() -> LedgerSigner:
    return LedgerSigner.generate(ORIGIN)
