"""Builders and tampering tools for ledger tests (an attacker with database access)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mlwarden.ledger import Ledger, LedgerEntry, LedgerSigner
from mlwarden.ledger.entry import decode_body, encode_body
from mlwarden.ledger.merkle import MerkleFrontier, leaf_hash
from mlwarden.store.catalog.db import open_database

ORIGIN = "ledger.test.example/audit"
POSTGRES_URL = os.environ.get(
    "MLWARDEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LEDGER_TABLES = ("ledger_entries", "ledger_checkpoints", "ledger_frontier")
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class LedgerDatabase:
    """One test's database: enough to open it here or in a child process."""

    kind: str
    url: str
    schema: str | None

    def open(self) -> Engine:
        return open_database(self.url, schema=self.schema, migrate=False)


def prepare_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> LedgerDatabase:
    """An empty, migrated catalog of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        target = LedgerDatabase("sqlite", f"sqlite:///{tmp_path / 'catalog.db'}", None)
        open_database(target.url).dispose()
        return target
    schema = request.getfixturevalue("postgres_schema")
    target = LedgerDatabase("postgresql", POSTGRES_URL, schema)
    engine = target.open()
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(LEDGER_TABLES)}")
    finally:
        engine.dispose()
    return target


def make_entry(index: int, actor: str = "svc-trainer") -> LedgerEntry:
    return LedgerEntry(
        actor=actor,
        action="store.put" if index % 3 else "model.load",
        decision="deny" if index % 7 == 3 else "allow",
        artifact=f"model/resnet@{index}",
        details={"index": index, "digest": f"{index:064x}"},
        time=START + timedelta(seconds=index),
    )


def build_log(
    ledger: Ledger,
    signer: LedgerSigner,
    size: int = 40,
    checkpoints: tuple[int, ...] = (10, 20, 30),
) -> None:
    """Append entries 0..size-1, signing a checkpoint when the log reaches each given size."""
    done = 0
    for stop in [*checkpoints, size]:
        ledger.append_many(make_entry(i) for i in range(done, stop))
        done = stop
        if stop in checkpoints:
            assert ledger.checkpoint(signer).tree_size == stop


def body_of(engine: Engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return bytes(
            conn.execute(
                text("SELECT body FROM ledger_entries WHERE seq = :s"), {"s": seq}
            ).scalar_one()
        )


def set_body(engine: Engine, seq: int, body: bytes, *, rehash: bool) -> None:
    """Replace an entry's body; with ``rehash`` also its leaf hash, as a careful attacker would."""
    query = "UPDATE ledger_entries SET body = :b" + (", leaf_hash = :h" if rehash else "")
    with engine.begin() as conn:
        conn.execute(text(query + " WHERE seq = :s"), {"b": body, "h": leaf_hash(body), "s": seq})


def flip_decision(body: bytes) -> bytes:
    changed = body.replace(b'"decision":"deny"', b'"decision":"allow"')
    if changed == body:
        changed = body.replace(b'"decision":"allow"', b'"decision":"deny"')
    assert changed != body
    return changed


def delete_entries(engine: Engine, first: int, last: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM ledger_entries WHERE seq BETWEEN :a AND :b"), {"a": first, "b": last}
        )


def swap_entries(engine: Engine, a: int, b: int) -> None:
    with engine.begin() as conn:
        for old, new in [(a, -1), (b, a), (-1, b)]:
            conn.execute(
                text("UPDATE ledger_entries SET seq = :new WHERE seq = :old"),
                {"old": old, "new": new},
            )


def rewrite_from(engine: Engine, first: int, change: int) -> None:
    """Alter entry ``change`` and re-derive every body, leaf hash and chain link from ``first``
    on, and the head: a rewrite that leaves nothing inconsistent inside the database."""
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT seq, body, leaf_hash FROM ledger_entries ORDER BY seq")
        ).all()
        frontier = MerkleFrontier()
        prev: bytes | None = None
        for seq, body, recorded in rows:
            body, recorded = bytes(body), bytes(recorded)
            if seq >= first:
                _, _, entry = decode_body(body)
                new_body = encode_body(entry, seq, prev)
                if seq == change:
                    new_body = encode_body(
                        LedgerEntry(
                            entry.actor, entry.action, "allow", entry.artifact, {}, entry.time
                        ),
                        seq,
                        prev,
                    )
                body, recorded = new_body, leaf_hash(new_body)
                conn.execute(
                    text("UPDATE ledger_entries SET body = :b, leaf_hash = :h WHERE seq = :s"),
                    {"b": body, "h": recorded, "s": seq},
                )
            frontier.append(recorded)
            prev = recorded
        conn.execute(
            text("UPDATE ledger_frontier SET tree_size = :n, edge = :e WHERE id = 1"),
            {"n": frontier.size, "e": frontier.to_bytes()},
        )


def entry_rows(engine: Engine) -> list[tuple[int, bytes]]:
    with engine.connect() as conn:
        return [
            (int(seq), bytes(body))
            for seq, body in conn.execute(text("SELECT seq, body FROM ledger_entries ORDER BY seq"))
        ]
