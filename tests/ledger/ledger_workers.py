"""Code run in child processes by the concurrency tests (importable under ``spawn``)."""

from __future__ import annotations

from typing import Any

from ledger_fixtures import ORIGIN, make_entry
from sqlalchemy import Engine, create_engine

from mlwarden.ledger import Ledger
from mlwarden.store.catalog.db import open_database

SINGLE_APPENDS = 40
BATCHES = 10
BATCH_SIZE = 3


def open_engine(kind: str, url: str, schema: str | None) -> Engine:
    if kind == "sqlite-plain":
        return create_engine(url)  # pysqlite's own transaction handling, no mlwarden tuning
    return open_database(url, schema=schema, migrate=False)


def append_as(kind: str, url: str, schema: str | None, actor: str, start: Any) -> None:
    """Wait for the start signal, then interleave single appends and batches as ``actor``."""
    engine = open_engine(kind, url, schema)
    try:
        ledger = Ledger(engine, ORIGIN)
        start.wait(timeout=60)
        batches = 0
        for index in range(SINGLE_APPENDS):
            ledger.append(make_entry(index, actor))
            if index % 4 == 3 and batches < BATCHES:
                first = 1000 * (batches + 1)
                ledger.append_many(make_entry(first + k, actor) for k in range(BATCH_SIZE))
                batches += 1
    finally:
        engine.dispose()
