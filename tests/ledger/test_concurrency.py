"""Two processes appending at once get dense, distinct seqs and a log that verifies."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from ledger_fixtures import ORIGIN, prepare_database
from ledger_workers import BATCH_SIZE, BATCHES, SINGLE_APPENDS, append_as, open_engine

from mlwarden.ledger import Ledger, LedgerSigner
from mlwarden.store.catalog.schema import Base

ACTORS = ("writer-a", "writer-b")


@pytest.fixture(params=["sqlite", "postgresql", "sqlite-plain"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, str | None]:
    """(kind, url, schema): the catalog as ``open_database`` makes it, and a bare SQLite
    engine with tables from ``create_all``, to show the locking does not rely on mlwarden's
    engine tuning."""
    if request.param == "sqlite-plain":
        url = f"sqlite:///{tmp_path / 'plain.db'}"
        engine = open_engine("sqlite-plain", url, None)
        Base.metadata.create_all(engine)
        engine.dispose()
        return "sqlite-plain", url, None
    database = prepare_database(request.param, request, tmp_path)
    return database.kind, database.url, database.schema


def test_two_processes_appending_at_once_get_dense_distinct_seqs(
    target: tuple[str, str, str | None], signer: LedgerSigner
) -> None:
    kind, url, schema = target
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=append_as, args=(kind, url, schema, actor, start))
        for actor in ACTORS
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    engine = open_engine(kind, url, schema)
    try:
        ledger = Ledger(engine, ORIGIN)
        stored = list(ledger.entries())
        per_actor = SINGLE_APPENDS + BATCHES * BATCH_SIZE
        assert [item.seq for item in stored] == list(range(2 * per_actor))
        assert ledger.head().tree_size == 2 * per_actor
        for actor in ACTORS:
            mine = [item for item in stored if item.entry.actor == actor]
            assert len(mine) == per_actor
            # A batch is one transaction: its entries sit next to each other.
            for batch in range(1, BATCHES + 1):
                seqs = [
                    item.seq
                    for item in mine
                    if 1000 * batch <= item.entry.details["index"] < 1000 * batch + BATCH_SIZE
                ]
                assert seqs == list(range(seqs[0], seqs[0] + BATCH_SIZE))
        # The writers took turns on the head, so both interleaved in the one tree.
        assert {item.entry.actor for item in stored[: per_actor + 1]} == set(ACTORS)
        ledger.checkpoint(signer)
        report = ledger.verify(signer.verifier())
        assert report.ok, report.summary()
        assert report.verified_size == 2 * per_actor
    finally:
        engine.dispose()
