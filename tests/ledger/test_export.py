"""Exports: the log as JSON lines, verified by an auditor without the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_fixtures import ORIGIN, body_of, build_log, flip_decision, set_body
from sqlalchemy import Engine

from mlwarden.errors import UsageError
from mlwarden.ledger import Ledger, LedgerSigner, ProblemKind, verify_export
from mlwarden.ledger.export import EXPORT_FORMAT, MAX_LINE_BYTES


@pytest.fixture
def exported(ledger: Ledger, signer: LedgerSigner, tmp_path: Path) -> Path:
    build_log(ledger, signer)
    path = tmp_path / "ledger.jsonl"
    assert ledger.export(path) == 40
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _write(path: Path, documents: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents))


def test_an_export_holds_the_log_in_order_and_verifies(
    exported: Path, signer: LedgerSigner, ledger: Ledger
) -> None:
    lines = _lines(exported)
    assert lines[0] == {"type": "header", "format": EXPORT_FORMAT, "origin": ORIGIN}
    assert lines[-1] == {"type": "end", "entries": 40, "checkpoints": 3}
    kinds = [(d["type"], d.get("seq", d.get("tree_size"))) for d in lines[1:-1]]
    # Each checkpoint sits right before the first entry it does not cover.
    assert kinds[9:12] == [("entry", 9), ("checkpoint", 10), ("entry", 10)]
    assert [k for k in kinds if k[0] == "checkpoint"] == [("checkpoint", n) for n in (10, 20, 30)]
    stored = {item.seq: item.body for item in ledger.entries()}
    for document in lines[1:-1]:
        if document["type"] == "entry":
            assert str(document["body"]).encode() == stored[int(str(document["seq"]))]
    report = verify_export(exported, signer.verifier(), origin=ORIGIN)
    assert report.ok, report.summary()
    assert (report.entries, report.verified_size, report.uncovered) == (40, 30, (30, 40))
    assert report.root_hash == ledger.head().root_hash


def test_an_export_of_a_tampered_database_reports_the_same_first_bad_entry(
    ledger: Ledger, engine: Engine, signer: LedgerSigner, tmp_path: Path
) -> None:
    build_log(ledger, signer)
    set_body(engine, 17, flip_decision(body_of(engine, 17)), rehash=True)
    path = tmp_path / "tampered.jsonl"
    ledger.export(path)
    from_file = verify_export(path, signer.verifier())
    from_database = ledger.verify(signer.verifier())
    assert from_file.first_bad_seq == from_database.first_bad_seq == 17
    assert from_file.first_bad_range == from_database.first_bad_range == (10, 20)


def test_edits_to_the_export_file_are_found(exported: Path, signer: LedgerSigner) -> None:
    lines = _lines(exported)
    entry = next(d for d in lines if d.get("seq") == 22)
    entry["body"] = str(entry["body"]).replace("resnet@22", "resnet@99")
    _write(exported, lines)
    report = verify_export(exported, signer.verifier())
    assert report.first_bad_seq == 22
    assert report.first_problem() is not None
    assert report.first_problem().kind is ProblemKind.BODY_MISMATCH  # type: ignore[union-attr]


def test_a_cut_short_export_is_found(exported: Path, signer: LedgerSigner) -> None:
    lines = _lines(exported)
    # Cut below the last checkpoint but keep the checkpoint lines that were already read.
    _write(exported, [d for d in lines if d["type"] != "end" and int(str(d.get("seq", 0))) < 25])
    report = verify_export(exported, signer.verifier())
    kinds = {p.kind for p in report.problems}
    assert ProblemKind.MALFORMED_EXPORT in kinds and ProblemKind.MISSING_ENTRIES in kinds
    assert report.first_bad_seq == 25


def test_removed_lines_are_counted_against_the_end_line(
    exported: Path, signer: LedgerSigner
) -> None:
    lines = [d for d in _lines(exported) if d.get("seq") != 39]
    _write(exported, lines)
    report = verify_export(exported, signer.verifier())
    assert any("counts 40 entries" in p.message for p in report.problems)


def test_unreadable_lines_become_problems_not_crashes(exported: Path, signer: LedgerSigner) -> None:
    text = exported.read_text("utf-8").splitlines(keepends=True)
    text.insert(5, "not json\n")
    text.insert(6, "[1, 2]\n")
    text.insert(7, '{"type": "entry", "seq": "x"}\n')
    text.insert(8, "x" * (MAX_LINE_BYTES + 10) + "\n")
    text.insert(9, "[" * 5000 + "\n")
    exported.write_text("".join(text))
    report = verify_export(exported, signer.verifier())
    malformed = [p for p in report.problems if p.kind is ProblemKind.MALFORMED_EXPORT]
    assert [p.message.split(" of ")[0] for p in malformed] == [
        f"line {n}" for n in (6, 7, 8, 9, 10)
    ]


def test_files_that_are_not_exports_are_usage_errors(
    exported: Path, signer: LedgerSigner, tmp_path: Path
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"type": "header", "format": "something-else"}\n')
    with pytest.raises(UsageError, match="is not a ledger export"):
        verify_export(other, signer.verifier())
    with pytest.raises(UsageError, match="cannot be read"):
        verify_export(tmp_path / "missing.jsonl", signer.verifier())
    with pytest.raises(UsageError, match="is an export of the log"):
        verify_export(exported, signer.verifier(), origin="other.example/log")


def test_export_replaces_the_file_whole_and_refuses_bad_paths(
    ledger: Ledger, signer: LedgerSigner, tmp_path: Path
) -> None:
    build_log(ledger, signer, size=12, checkpoints=(10,))
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "ledger.jsonl"
    path.write_text("old contents\n")
    ledger.export(path)
    assert _lines(path)[-1] == {"type": "end", "entries": 12, "checkpoints": 1}
    assert [p.name for p in folder.iterdir()] == ["ledger.jsonl"]  # no temporary left
    with pytest.raises(UsageError, match="folder does not exist"):
        ledger.export(tmp_path / "missing" / "ledger.jsonl")
    with pytest.raises(UsageError, match="is a folder"):
        ledger.export(folder)


def test_an_export_verified_with_the_wrong_key_fails(exported: Path) -> None:
    stranger = LedgerSigner.generate(ORIGIN)
    report = verify_export(exported, stranger.verifier())
    assert not report.ok
    assert [p.tree_size for p in report.problems] == [10, 20, 30]
    assert report.verified_size == 0
