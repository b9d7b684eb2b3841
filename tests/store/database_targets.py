"""Catalog databases for tests: which one, and how to open it (here or in another process).

Used by the fixtures in ``tests/store/conftest.py``; import the types from here.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine

from mlwarden.store.catalog.db import open_database

POSTGRES_URL = os.environ.get(
    "MLWARDEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class DatabaseTarget:
    """A catalog database for one test: enough to open it here or in another process."""

    kind: str
    """``sqlite`` or ``postgresql``."""
    url: str
    schema: str | None
    """The PostgreSQL schema holding the tables (None for SQLite)."""

    def open(self, *, migrate: bool = True) -> Engine:
        """``open_database`` on this target (the caller disposes the engine)."""
        return open_database(self.url, schema=self.schema, migrate=migrate)

    def plain_engine(self) -> Engine:
        """An engine that skips mlwarden's checks and migrations, to set up odd states."""
        if self.schema is None:
            return create_engine(self.url)
        engine = create_engine(self.url, connect_args={"options": f"-csearch_path={self.schema}"})
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        return engine


class PostgresSchemas:
    """Hands out uniquely named schemas in the test database and drops them all at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def new(self) -> str:
        name = f"mlw_test_{uuid.uuid4().hex[:16]}"
        self.created.append(name)
        return name  # open_database creates it on first use

    def drop_all(self) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                for name in self.created:
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            engine.dispose()
