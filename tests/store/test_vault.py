"""The vault end to end: round trips, tampering, rotation, shredding, signatures, ledger."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from database_targets import DatabaseTarget
from sqlalchemy import text
from vault_fixtures import make_parts, open_test_vault

from mlwarden.errors import UsageError
from mlwarden.store.crypto.envelope import HEADER_SIZE, TAG_SIZE, IntegrityError
from mlwarden.store.vault import Vault

CHUNK = 4096


@pytest.fixture
def vault(tmp_path: Path, database: DatabaseTarget) -> Iterator[Vault]:
    make_parts(tmp_path / "keys")
    v = open_test_vault(tmp_path / "keys", database, str(tmp_path / "blobs"), chunk_size=CHUNK)
    yield v
    v.close()


@pytest.fixture
def local_vault(tmp_path: Path) -> Iterator[Vault]:
    make_parts(tmp_path / "keys")
    target = DatabaseTarget("sqlite", f"sqlite:///{tmp_path / 'catalog.db'}", None)
    v = open_test_vault(tmp_path / "keys", target, str(tmp_path / "blobs"), chunk_size=CHUNK)
    yield v
    v.close()


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _stored(v: Vault, reference: str) -> tuple[str, bytes]:
    blob = v.catalog.get_blob(v.resolve(reference).digest)
    assert blob is not None
    with v.backend.open_reader(blob.backend_key) as fh:
        return blob.backend_key, fh.read()


def _overwrite(v: Vault, key: str, data: bytes) -> None:
    with v.backend.open_writer(key) as writer:
        writer.write(data)
        writer.commit()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_round_trip_at_chunk_boundaries(local_vault: Vault, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src = _file(tmp_path / "in.bin", data)
    record = local_vault.put(src, "data/sample", kind="dataset")
    assert record.digest == hashlib.sha256(data).hexdigest()
    assert record.size == size
    out = tmp_path / "out.bin"
    local_vault.get("data/sample", out)
    assert out.read_bytes() == data
    assert out.stat().st_mode & 0o077 == 0  # decrypted data is private to its owner


def test_round_trip_on_every_database(vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(5 * CHUNK + 3)
    vault.put(_file(tmp_path / "m.bin", data), "models/m", kind="model", labels={"team": "a"})
    vault.put(_file(tmp_path / "m2.bin", data[:100]), "models/m", kind="model")
    assert [r.reference for r in vault.catalog.list_artifacts(name="models/m")] == [
        "models/m:1",
        "models/m:2",
    ]
    vault.get("models/m:1", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert vault.ledger.verify(vault.verifier).ok


def test_s3_backend_round_trip_and_tamper(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    make_parts(tmp_path / "keys")
    target = DatabaseTarget("sqlite", f"sqlite:///{tmp_path / 'catalog.db'}", None)
    url = f"s3://{s3_bucket}/vault?endpoint={s3_endpoint}"
    with open_test_vault(tmp_path / "keys", target, url, chunk_size=CHUNK) as v:
        data = os.urandom(10 * CHUNK)
        v.put(_file(tmp_path / "d.bin", data), "ds/s3", kind="dataset")
        v.get("ds/s3", tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == data
        key, stored = _stored(v, "ds/s3")
        assert data[:64] not in stored  # encrypted at rest
        from datetime import UTC, datetime, timedelta

        age = datetime.now(UTC) - v.backend.modified_at(key)
        assert timedelta(minutes=-5) < age < timedelta(minutes=5)  # what gc judges age by
        flipped = bytearray(stored)
        flipped[len(flipped) // 2] ^= 0x01
        _overwrite(v, key, bytes(flipped))
        with pytest.raises(IntegrityError):
            v.get("ds/s3", tmp_path / "again.bin")
        assert not (tmp_path / "again.bin").exists()


def test_identical_content_is_stored_once(local_vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(3000)
    a = local_vault.put(_file(tmp_path / "a", data), "x/a")
    b = local_vault.put(_file(tmp_path / "b", data), "x/b")
    assert a.digest == b.digest
    assert len(list(local_vault.backend.iter_keys())) == 1


def test_plaintext_is_not_in_the_blob_store(local_vault: Vault, tmp_path: Path) -> None:
    marker = b"PATIENT-RECORD-" * 200
    local_vault.put(_file(tmp_path / "p", marker), "phi/records")
    for path in (tmp_path / "blobs").rglob("*"):
        if path.is_file():
            assert b"PATIENT-RECORD-" not in path.read_bytes()


# -- tampering --------------------------------------------------------------------------------


def _tamper_cases(stored: bytes) -> dict[str, bytes]:
    record = CHUNK + TAG_SIZE
    first, second = HEADER_SIZE, HEADER_SIZE + record
    chunks_swapped = (
        stored[:first]
        + stored[second : second + record]
        + stored[first:second]
        + stored[second + record :]
    )
    return {
        "flip a ciphertext byte": stored[:100] + bytes([stored[100] ^ 1]) + stored[101:],
        "flip a header byte": stored[:10] + bytes([stored[10] ^ 1]) + stored[11:],
        "flip the last tag byte": stored[:-1] + bytes([stored[-1] ^ 0x80]),
        "swap two chunks": chunks_swapped,
        "truncate mid-chunk": stored[: HEADER_SIZE + record + 100],
        "drop the final chunk": stored[: HEADER_SIZE + 2 * record],
        "append bytes": stored + b"\x00" * 32,
        "empty object": b"",
    }


@pytest.mark.parametrize(
    "case",
    [
        "flip a ciphertext byte",
        "flip a header byte",
        "flip the last tag byte",
        "swap two chunks",
        "truncate mid-chunk",
        "drop the final chunk",
        "append bytes",
        "empty object",
    ],
)
def test_tampered_blob_is_detected_and_nothing_is_written(
    local_vault: Vault, tmp_path: Path, case: str
) -> None:
    local_vault.put(_file(tmp_path / "m", os.urandom(3 * CHUNK + 50)), "models/t")
    key, stored = _stored(local_vault, "models/t")
    _overwrite(local_vault, key, _tamper_cases(stored)[case])
    out = tmp_path / "out" / "model.bin"
    with pytest.raises(IntegrityError):
        local_vault.get("models/t", out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no partial file left behind
    [outcome] = local_vault.verify("models/t")
    assert not outcome.ok
    entries = list(local_vault.ledger.entries())
    denied = [e for e in entries if e.entry.action == "store.get"]
    assert denied and denied[-1].entry.decision == "deny"


def test_blob_swapped_between_artifacts_is_detected(local_vault: Vault, tmp_path: Path) -> None:
    local_vault.put(_file(tmp_path / "a", os.urandom(2 * CHUNK)), "m/a")
    local_vault.put(_file(tmp_path / "b", os.urandom(2 * CHUNK)), "m/b")
    key_a, _ = _stored(local_vault, "m/a")
    _, stored_b = _stored(local_vault, "m/b")
    _overwrite(local_vault, key_a, stored_b)
    with pytest.raises(IntegrityError):
        local_vault.get("m/a", tmp_path / "out")


def test_wrapped_key_moved_to_another_blob_fails(local_vault: Vault, tmp_path: Path) -> None:
    a = local_vault.put(_file(tmp_path / "a", os.urandom(100)), "m/a")
    b = local_vault.put(_file(tmp_path / "b", os.urandom(100)), "m/b")
    with local_vault.engine.begin() as conn:
        dek_b = conn.execute(
            text("SELECT wrapped_dek FROM blobs WHERE digest = :d"), {"d": b.digest}
        ).scalar_one()
        conn.execute(
            text("UPDATE blobs SET wrapped_dek = :w WHERE digest = :d"),
            {"w": dek_b, "d": a.digest},
        )
    with pytest.raises(IntegrityError, match="does not authenticate"):
        local_vault.get("m/a", tmp_path / "out")


# -- keys ---------------------------------------------------------------------------------------


def test_rotation_and_rewrap_keep_every_artifact_readable(vault: Vault, tmp_path: Path) -> None:
    contents = {f"d/{i}": os.urandom(200 + i) for i in range(7)}
    for name, data in contents.items():
        vault.put(_file(tmp_path / "src", data), name)
    old = vault.keys.versions()[0].version
    vault.rotate()
    with pytest.raises(UsageError, match="rewrap"):
        vault.retire(old)
    outcome = vault.rewrap(batch=3)
    assert outcome.rewrapped == 7 and outcome.remaining == 0
    vault.retire(old)
    for name, data in contents.items():
        out = tmp_path / "out"
        out.unlink(missing_ok=True)
        vault.get(name, out)
        assert out.read_bytes() == data
    actions = [e.entry.action for e in vault.ledger.entries()]
    assert {"keys.rotate", "keys.rewrap", "keys.retire"} <= set(actions)


def test_rewrap_resumes_after_an_interruption(local_vault: Vault, tmp_path: Path) -> None:
    for i in range(5):
        local_vault.put(_file(tmp_path / "s", os.urandom(50 + i)), f"r/{i}")
    local_vault.rotate()
    calls = 0

    def stop_after_first_batch(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        local_vault.rewrap(batch=2, progress=stop_after_first_batch)
    current = local_vault.keys.versions()[-1].version
    assert local_vault.catalog.count_blobs_with_kek_version(current) == 2
    outcome = local_vault.rewrap(batch=2)
    assert outcome.remaining == 0
    assert local_vault.catalog.count_blobs_with_kek_version(current) == 5


def test_shredded_content_is_unrecoverable(local_vault: Vault, tmp_path: Path) -> None:
    record = local_vault.put(_file(tmp_path / "s", b"subject data" * 10), "gdpr/subject")
    key, _ = _stored(local_vault, "gdpr/subject")
    local_vault.shred("gdpr/subject")
    assert not local_vault.backend.exists(key)
    with pytest.raises(UsageError, match="shredded"):
        local_vault.get("gdpr/subject", tmp_path / "out")
    blob = local_vault.catalog.get_blob(record.digest)
    assert blob is not None and blob.wrapped_dek is None
    with pytest.raises(UsageError, match="shredded"):
        local_vault.put(_file(tmp_path / "s2", b"subject data" * 10), "gdpr/again")


# -- folders, signatures, lineage -------------------------------------------------------------


def test_folder_artifact_round_trip(local_vault: Vault, tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "weights").mkdir(parents=True)
    (src / "config.json").write_text('{"a": 1}')
    (src / "weights" / "w.bin").write_bytes(os.urandom(9000))
    first = local_vault.put(src, "models/folder")
    again = local_vault.put(src, "models/folder")
    assert first.digest == again.digest  # deterministic packing
    out = tmp_path / "restored"
    local_vault.get("models/folder", out)
    assert (out / "config.json").read_text() == '{"a": 1}'
    assert (out / "weights" / "w.bin").read_bytes() == (src / "weights" / "w.bin").read_bytes()


def test_folder_with_a_symlink_is_refused(local_vault: Vault, tmp_path: Path) -> None:
    src = tmp_path / "m"
    src.mkdir()
    (src / "link").symlink_to("/etc/passwd")
    with pytest.raises(UsageError, match="symbolic link"):
        local_vault.put(src, "models/link")
    assert local_vault.catalog.list_artifacts() == []


def test_signature_round_trip_and_wrong_key(local_vault: Vault, tmp_path: Path) -> None:
    from mlwarden.store.signing import generate_signing_key

    local_vault.put(_file(tmp_path / "m.bin", os.urandom(500)), "models/signed", kind="model")
    assert local_vault.verify_signature("models/signed") == "unsigned"
    local_vault.sign("models/signed")
    assert local_vault.verify_signature("models/signed") == "verified"
    generate_signing_key(tmp_path / "other.pem", tmp_path / "other.pub")
    local_vault.model_public_key = tmp_path / "other.pub"
    assert local_vault.verify_signature("models/signed").startswith("signature failed")


def test_lineage_from_dataset_to_model(local_vault: Vault, tmp_path: Path) -> None:
    ds = local_vault.put(_file(tmp_path / "d", b"rows"), "ds/train", kind="dataset")
    model = local_vault.put(_file(tmp_path / "m", b"weights"), "models/clf", kind="model")
    local_vault.link("ds/train", "run:train-1", "input")
    local_vault.link("run:train-1", "models/clf", "produced")
    downstream = local_vault.catalog.lineage(ds.ref, direction="down")
    assert model.ref in {e.target for e in downstream}


# -- the ledger ---------------------------------------------------------------------------------


def test_every_operation_is_in_a_verifiable_ledger(vault: Vault, tmp_path: Path) -> None:
    vault.put(_file(tmp_path / "a", b"a" * 100), "l/a")
    vault.get("l/a", tmp_path / "out")
    vault.remove("l/a:1")
    actions = [e.entry.action for e in vault.ledger.entries()]
    assert actions == ["store.put", "store.get", "store.delete"]
    report = vault.ledger.verify(vault.verifier)
    assert report.ok and report.verified_size == 3


def test_changed_ledger_entry_is_found(vault: Vault, tmp_path: Path) -> None:
    for i in range(4):
        vault.put(_file(tmp_path / "a", bytes([i]) * 10), f"l/{i}")
    with vault.engine.begin() as conn:
        body = conn.execute(text("SELECT body FROM ledger_entries WHERE seq = 2")).scalar_one()
        forged = bytes(body).replace(b"user:test", b"user:evil")
        conn.execute(text("UPDATE ledger_entries SET body = :b WHERE seq = 2"), {"b": forged})
    report = vault.ledger.verify(vault.verifier)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_removed_ledger_entry_is_found(vault: Vault, tmp_path: Path) -> None:
    for i in range(4):
        vault.put(_file(tmp_path / "a", bytes([i]) * 10), f"l/{i}")
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq = 1"))
    report = vault.ledger.verify(vault.verifier)
    assert not report.ok
    assert report.first_bad_seq == 1


def test_garbage_collection_removes_only_unreferenced_objects(
    local_vault: Vault, tmp_path: Path
) -> None:
    from datetime import timedelta

    local_vault.put(_file(tmp_path / "a", b"keep" * 10), "g/keep")
    orphan = "f" * 64
    _overwrite(local_vault, orphan, b"left by a crash")
    # A young object may belong to a put that has not catalogued it yet: kept.
    assert local_vault.collect_garbage() == 0
    assert local_vault.backend.exists(orphan)
    assert local_vault.collect_garbage(older_than=timedelta(0)) == 1
    assert not local_vault.backend.exists(orphan)
    local_vault.get("g/keep", tmp_path / "out")


def test_training_attestation_links_datasets_to_the_model(
    local_vault: Vault, tmp_path: Path
) -> None:
    from mlwarden.store.attestations import TrainingRecord, attest_training, verify_attestation

    ds = local_vault.put(_file(tmp_path / "d", b"a,b\n1,2\n"), "ds/train", kind="dataset")
    model = local_vault.put(_file(tmp_path / "m", b"weights"), "models/clf", kind="model")
    record = TrainingRecord(run_name="clf-1", entry_point="train.py", hyperparameters={"lr": "0.1"})
    stored = attest_training(local_vault, "models/clf", ["ds/train"], record)
    assert stored.kind == "attestation" and stored.name == "models/clf.provenance"
    result = verify_attestation(local_vault, stored.reference)
    assert result.model.digest == model.digest
    assert result.datasets == (f"ds/train@sha256:{ds.digest}",)
    downstream = {e.target for e in local_vault.catalog.lineage(ds.ref, direction="down")}
    assert model.ref in downstream


def test_attestation_for_another_model_is_refused(local_vault: Vault, tmp_path: Path) -> None:
    from mlwarden.store.attestations import TrainingRecord, attest_training, verify_attestation
    from mlwarden.store.signing import SignatureError

    local_vault.put(_file(tmp_path / "m", b"weights"), "models/clf", kind="model")
    stored = attest_training(
        local_vault, "models/clf", [], TrainingRecord("r", capture_environment=False)
    )
    # A new version of the model: the attestation's subject digest no longer matches.
    local_vault.put(_file(tmp_path / "m2", b"other weights"), "models/clf", kind="model")
    with local_vault.engine.begin() as conn:
        conn.execute(
            text("UPDATE artifact_labels SET value = 'models/clf:2' WHERE key = 'subject'")
        )
    with pytest.raises(SignatureError):
        verify_attestation(local_vault, stored.reference)


def test_signature_policy_refuses_unsigned_artifacts(local_vault: Vault, tmp_path: Path) -> None:
    local_vault.put(_file(tmp_path / "m", b"weights"), "models/p", kind="model")
    local_vault.require_signatures = True
    with pytest.raises(UsageError, match="signature policy"):
        local_vault.get("models/p", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    local_vault.sign("models/p")
    local_vault.get("models/p", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"weights"
