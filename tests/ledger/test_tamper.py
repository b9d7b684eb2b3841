"""Tampering with the ledger's database is found, and the first bad position is named.

Every test builds the same log, 40 entries with checkpoints signed at 10, 20 and 30, then
edits the database the way an attacker with write access would, and verifies with the
public key alone.
"""

from __future__ import annotations

import pytest
from ledger_fixtures import (
    body_of,
    build_log,
    delete_entries,
    flip_decision,
    rewrite_from,
    set_body,
    swap_entries,
)
from sqlalchemy import Engine, text

from mlwarden.ledger import Ledger, LedgerSigner, ProblemKind, VerifyReport, sign_checkpoint
from mlwarden.ledger.merkle import MerkleFrontier, leaf_hash


@pytest.fixture
def built(ledger: Ledger, signer: LedgerSigner) -> Ledger:
    build_log(ledger, signer)
    return ledger


def _kinds(report: VerifyReport) -> set[ProblemKind]:
    return {problem.kind for problem in report.problems}


def test_an_untouched_log_verifies(built: Ledger, signer: LedgerSigner) -> None:
    report = built.verify(signer.verifier())
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints, report.verified_size) == (40, 3, 30)
    assert report.root_hash == built.head().root_hash
    assert report.latest_checkpoint is not None and report.latest_checkpoint.tree_size == 30
    # Entries after the last checkpoint are a warning, not tampering.
    assert report.uncovered == (30, 40)
    assert "entries 30..39 are not yet covered by a signed checkpoint" in report.summary()


def test_a_changed_body_is_the_first_tampered_entry(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    set_body(engine, 13, flip_decision(body_of(engine, 13)), rehash=False)
    report = built.verify(signer.verifier())
    assert not report.ok
    assert report.first_bad_seq == 13
    assert report.first_bad_range == (10, 20)
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.BODY_MISMATCH and first.seq == 13
    assert "first tampered entry is seq 13" in report.summary()
    assert "seqs 10..19" in report.summary()


def test_a_changed_body_with_a_recomputed_leaf_hash_is_pinned_by_the_chain(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    set_body(engine, 13, flip_decision(body_of(engine, 13)), rehash=True)
    report = built.verify(signer.verifier())
    assert report.first_bad_range == (10, 20)
    assert report.first_bad_seq == 13
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.BROKEN_CHAIN
    assert ProblemKind.BODY_MISMATCH not in _kinds(report)
    # Every checkpoint from 20 on covers the change.
    mismatched = [p.tree_size for p in report.problems if p.kind is ProblemKind.ROOT_MISMATCH]
    assert mismatched == [20, 30]


def test_a_removed_entry_is_reported_at_its_seq(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    delete_entries(engine, 13, 13)
    report = built.verify(signer.verifier())
    assert report.first_bad_seq == 13
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.MISSING_ENTRIES
    assert "entries 13..13 are missing" in first.message


def test_a_reordered_pair_is_reported_at_the_first_of_the_two(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    swap_entries(engine, 13, 14)
    report = built.verify(signer.verifier())
    assert report.first_bad_seq == 13
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.MISPLACED_ENTRY
    assert report.first_bad_range == (10, 20)


def test_renumbering_after_a_removal_is_caught_by_the_positions_in_the_bodies(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    delete_entries(engine, 13, 13)
    with engine.begin() as conn:
        for seq in range(14, 40):
            conn.execute(
                text("UPDATE ledger_entries SET seq = :n WHERE seq = :o"), {"n": seq - 1, "o": seq}
            )
    report = built.verify(signer.verifier())
    assert report.first_bad_seq == 13
    assert ProblemKind.MISPLACED_ENTRY in _kinds(report)


def test_a_forged_checkpoint_is_reported_at_its_size(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    forger = LedgerSigner.generate(signer.name)
    forged = sign_checkpoint(forger, built.origin, 20, built.head().root_hash)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_checkpoints SET signed_note = :n WHERE tree_size = 20"),
            {"n": forged.note},
        )
    report = built.verify(signer.verifier())
    assert not report.ok
    bad = [p for p in report.problems if p.kind is ProblemKind.BAD_CHECKPOINT]
    assert [p.tree_size for p in bad] == [20]
    assert "no signature by the key" in bad[0].message
    # The entries themselves are intact and the genuine checkpoints still cover them.
    assert report.first_bad_seq is None and report.verified_size == 30


def test_a_truncated_log_is_reported_at_the_first_removed_seq(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    delete_entries(engine, 25, 39)
    # A careful attacker also rewinds the head to the 25 entries left.
    with engine.begin() as conn:
        hashes = [
            bytes(h)
            for (h,) in conn.execute(text("SELECT leaf_hash FROM ledger_entries ORDER BY seq"))
        ]
        frontier = MerkleFrontier()
        frontier.extend(hashes)
        conn.execute(
            text("UPDATE ledger_frontier SET tree_size = :n, edge = :e WHERE id = 1"),
            {"n": frontier.size, "e": frontier.to_bytes()},
        )
    report = built.verify(signer.verifier())
    assert report.first_bad_seq == 25
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.MISSING_ENTRIES
    assert first.tree_size == 30
    assert "entries 25..29 were removed from the end" in first.message
    assert ProblemKind.HEAD_MISMATCH not in _kinds(report)


def test_a_consistent_rewrite_is_confined_to_the_range_between_checkpoints(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    # Entry 13 is changed and every later body, leaf hash, chain link and the head are
    # re-derived: only the signed checkpoints can tell.
    rewrite_from(engine, 13, 13)
    report = built.verify(signer.verifier())
    assert report.first_bad_seq is None
    assert report.first_bad_range == (10, 20)
    assert _kinds(report) == {ProblemKind.ROOT_MISMATCH}
    assert "seqs 10..19" in report.summary()
    assert "No single entry stands out" in report.summary()
    assert report.verified_size == 10


def test_a_signed_fork_is_reported_as_inconsistent_checkpoints(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    # The history is rewritten and then the key holder is tricked into signing the new
    # head directly (bypassing Ledger.checkpoint, which refuses): two signed, diverging views.
    rewrite_from(engine, 5, 5)
    head = built.head()
    fork = sign_checkpoint(signer, built.origin, head.tree_size, head.root_hash)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_checkpoints (tree_size, root_hash, signed_note, edge, "
                "created_at) VALUES (:n, :r, :s, :e, CURRENT_TIMESTAMP)"
            ),
            {"n": head.tree_size, "r": head.root_hash, "s": fork.note, "e": b""},
        )
    report = built.verify(signer.verifier())
    inconsistent = [p for p in report.problems if p.kind is ProblemKind.INCONSISTENT_CHECKPOINTS]
    assert [p.tree_size for p in inconsistent] == [40]
    assert "entries 0..29 were changed between the two signatures" in inconsistent[0].message
    assert report.first_bad_range == (0, 10)


def test_an_edited_checkpoint_row_is_reported(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_checkpoints SET root_hash = :r WHERE tree_size = 10"),
            {"r": leaf_hash(b"other")},
        )
    report = built.verify(signer.verifier())
    bad = [p for p in report.problems if p.kind is ProblemKind.BAD_CHECKPOINT]
    assert [p.tree_size for p in bad] == [10]
    assert report.first_bad_seq is None and report.verified_size == 30


def test_junk_in_a_body_is_reported_as_malformed(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    set_body(engine, 33, b'{"not": "an entry"}', rehash=True)
    report = built.verify(signer.verifier())
    assert report.first_bad_seq == 33
    first = report.first_problem()
    assert first is not None and first.kind is ProblemKind.MALFORMED_ENTRY
    # Seq 33 is past the last checkpoint: only the entry checks can see it.
    assert report.first_bad_range is None


def test_problems_are_capped_but_counted(
    built: Ledger, engine: Engine, signer: LedgerSigner
) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET leaf_hash = :h"), {"h": b"\0" * 32})
    report = built.verify(signer.verifier(), max_problems=5)
    assert len(report.problems) == 5
    assert report.problems_omitted > 0
    assert report.first_bad_seq == 0
