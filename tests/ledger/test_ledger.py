"""The database-backed ledger on SQLite and PostgreSQL: appends, checkpoints, proofs, reads."""

from __future__ import annotations

import pytest
from ledger_fixtures import ORIGIN, build_log, make_entry, rewrite_from
from sqlalchemy import Engine, text

from mlwarden.errors import UsageError
from mlwarden.ledger import Ledger, LedgerEntry, LedgerSigner, verify_checkpoint
from mlwarden.ledger.entry import MAX_BODY_BYTES, encode_body
from mlwarden.ledger.merkle import EMPTY_ROOT, leaf_hash, root, verify_consistency, verify_inclusion
from mlwarden.ledger.merkle import consistency_proof as merkle_consistency_proof
from mlwarden.ledger.merkle import inclusion_proof as merkle_inclusion_proof


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_appends_get_dense_seqs_and_the_head_is_their_merkle_root(ledger: Ledger) -> None:
    assert ledger.head().tree_size == 0 and ledger.head().root_hash == EMPTY_ROOT
    assert ledger.append(make_entry(0)) == 0
    assert ledger.append_many(make_entry(i) for i in range(1, 6)) == range(1, 6)
    assert ledger.append(make_entry(6)) == 6
    assert ledger.append_many([]) == range(7, 7)
    stored = list(ledger.entries())
    assert [item.seq for item in stored] == list(range(7))
    head = ledger.head()
    assert head.tree_size == 7
    assert head.root_hash == root(leaf_hash(item.body) for item in stored)


def test_entries_read_back_what_was_appended_with_their_chain(ledger: Ledger) -> None:
    ledger.append_many(make_entry(i) for i in range(12))
    stored = list(ledger.entries(3, 9))
    assert [item.seq for item in stored] == list(range(3, 9))
    assert [item.entry for item in stored] == [make_entry(i) for i in range(3, 9)]
    previous = next(iter(ledger.entries(2, 3)))
    for item in stored:
        assert item.leaf_hash == leaf_hash(item.body)
        assert item.body == encode_body(item.entry, item.seq, previous.leaf_hash)
        assert item.prev == previous.leaf_hash
        previous = item
    assert next(iter(ledger.entries(0, 1))).prev is None
    assert [item.seq for item in ledger.entries(10)] == [10, 11]


def test_checkpoint_signs_the_head_and_stores_it(
    ledger: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    assert ledger.latest_checkpoint(signer.verifier()) is None
    empty = ledger.checkpoint(signer)
    assert (empty.tree_size, empty.root_hash) == (0, EMPTY_ROOT)
    ledger.append_many(make_entry(i) for i in range(5))
    checkpoint = ledger.checkpoint(signer)
    assert (checkpoint.tree_size, checkpoint.root_hash) == (5, ledger.head().root_hash)
    assert verify_checkpoint(checkpoint.note, signer.verifier(), origin=ORIGIN) == checkpoint
    assert ledger.latest_checkpoint(signer.verifier()) == checkpoint
    # Signing an unchanged head again hands back the stored checkpoint.
    assert ledger.checkpoint(signer) == checkpoint
    assert _count(engine, "ledger_checkpoints") == 2


def test_proofs_verify_against_the_signed_checkpoints(ledger: Ledger, signer: LedgerSigner) -> None:
    ledger.append_many(make_entry(i) for i in range(13))
    small = ledger.checkpoint(signer)
    ledger.append_many(make_entry(i) for i in range(13, 37))
    large = ledger.checkpoint(signer)
    for item in ledger.entries():
        if item.seq < small.tree_size:
            proof = ledger.inclusion_proof(item.seq, small.tree_size)
            assert verify_inclusion(item.leaf_hash, item.seq, 13, proof, small.root_hash)
        proof = ledger.inclusion_proof(item.seq)
        assert verify_inclusion(item.leaf_hash, item.seq, 37, proof, large.root_hash)
        assert not verify_inclusion(item.leaf_hash, item.seq, 37, proof, small.root_hash)
    proof = ledger.consistency_proof(13, 37)
    assert verify_consistency(13, 37, proof, small.root_hash, large.root_hash)
    assert ledger.consistency_proof(13) == proof


def test_proof_requests_outside_the_log_are_usage_errors(ledger: Ledger) -> None:
    ledger.append_many(make_entry(i) for i in range(4))
    for seq, size in [(4, None), (0, 5), (-1, 4), (3, 3)]:
        with pytest.raises(UsageError, match="not in a tree"):
            ledger.inclusion_proof(seq, size)
    with pytest.raises(UsageError, match="no consistency proof"):
        ledger.consistency_proof(3, 5)


def test_append_many_is_all_or_nothing(ledger: Ledger, engine: Engine) -> None:
    ledger.append_many(make_entry(i) for i in range(3))
    head = ledger.head()
    too_big = LedgerEntry("alice", "store.put", "allow", details={"x": "y" * MAX_BODY_BYTES})
    with pytest.raises(UsageError, match="entry 2 of the batch"):
        ledger.append_many([make_entry(3), make_entry(4), too_big, make_entry(5)])
    assert ledger.head() == head
    assert _count(engine, "ledger_entries") == 3
    with pytest.raises(UsageError, match="pass LedgerEntry"):
        ledger.append_many([make_entry(3), {"actor": "x"}])  # type: ignore[list-item]
    assert ledger.append(make_entry(3)) == 3


def test_checkpoint_refuses_to_sign_a_rewritten_history(
    ledger: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    build_log(ledger, signer, size=25, checkpoints=(10, 20))
    # Entry 4 is altered and everything after it re-derived, the head included: inside
    # the database nothing disagrees, but the tree no longer extends checkpoint 20.
    rewrite_from(engine, 4, 4)
    with pytest.raises(UsageError, match="refusing to sign a rewritten history"):
        ledger.checkpoint(signer)
    assert _count(engine, "ledger_checkpoints") == 2


def test_checkpoint_after_a_key_rotation_needs_the_previous_key(
    ledger: Ledger, signer: LedgerSigner
) -> None:
    build_log(ledger, signer, size=12, checkpoints=(10,))
    new_key = LedgerSigner.generate("ledger.test.example/audit-2027")
    with pytest.raises(UsageError, match="not validly signed by"):
        ledger.checkpoint(new_key)
    checkpoint = ledger.checkpoint(new_key, previous_key=signer.verifier())
    assert verify_checkpoint(checkpoint.note, new_key.verifier()).tree_size == 12


def test_an_origin_that_cannot_name_a_log_is_refused(engine: Engine) -> None:
    for origin in ["", "two words", "a+b", "x" * 300]:
        with pytest.raises(UsageError, match="origin"):
            Ledger(engine, origin)


def test_a_damaged_head_stops_appends_instead_of_forking(ledger: Ledger, engine: Engine) -> None:
    ledger.append_many(make_entry(i) for i in range(5))
    for size, edge_hashes, damage in [
        (7, 2, "head row is damaged"),  # 7 entries need 3 edge hashes
        (6, 2, "entry 5 is missing"),
        (4, 1, "entries exist beyond its head"),
    ]:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE ledger_frontier SET tree_size = :n, edge = :e WHERE id = 1"),
                {"n": size, "e": b"\0" * 32 * edge_hashes},
            )
        with pytest.raises(UsageError, match=damage):
            ledger.append(make_entry(5))
    assert _count(engine, "ledger_entries") == 5


def test_proofs_over_many_blocks_match_the_pure_functions_and_stay_the_same(
    ledger: Ledger, engine: Engine
) -> None:
    # Over 1024 entries the ledger keeps block roots between calls; the proofs must not change.
    size = 2 * 1024 + 300
    ledger.append_many(make_entry(i) for i in range(size))
    leaves = [item.leaf_hash for item in ledger.entries()]
    source = lambda a, b: leaves[a:b]  # noqa: E731
    for seq in (0, 1023, 1024, 2047, size - 1):
        expected = merkle_inclusion_proof(seq, size, source)
        assert ledger.inclusion_proof(seq) == expected
        assert ledger.inclusion_proof(seq) == expected
    for old in (1, 1024, 1500, 2048):
        assert ledger.consistency_proof(old) == merkle_consistency_proof(old, size, source)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq = 2100"))
    with pytest.raises(UsageError, match="missing"):
        ledger.inclusion_proof(2200)


def test_an_empty_ledger_verifies_and_can_be_signed(ledger: Ledger, signer: LedgerSigner) -> None:
    report = ledger.verify(signer.verifier())
    assert report.ok and report.entries == 0 and report.uncovered is None
    ledger.checkpoint(signer)
    report = ledger.verify(signer.verifier())
    assert report.ok and report.checkpoints == 1 and report.root_hash == EMPTY_ROOT
