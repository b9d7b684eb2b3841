"""The catalog's behaviour, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from store.database_targets import DatabaseTarget

from mlwarden.errors import UsageError
from mlwarden.store.catalog.catalog import Catalog
from mlwarden.store.catalog.records import ArtifactRecord

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class StepClock:
    """A clock that advances one second per reading, so timestamps are predictable."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def catalog(catalog_engine: Engine) -> Catalog:
    return Catalog(catalog_engine, clock=StepClock())


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def add_blob(
    catalog: Catalog, content: bytes, *, version: str = "1", wrapped: bytes | None = None
) -> str:
    digest = digest_of(content)
    catalog.add_blob(
        digest,
        size=len(content),
        stored_size=len(content) + 60,
        backend_key=digest,
        blob_id=digest_of(b"id" + content)[:16].encode(),
        chunk_size=1 << 20,
        wrapped_dek=wrapped or b"wrapped:" + content,
        kek_provider="keyring",
        kek_id="main",
        kek_version=version,
    )
    return digest


def add_model(
    catalog: Catalog, name: str, content: bytes = b"weights", **kw: object
) -> ArtifactRecord:
    digest = add_blob(catalog, content)
    return catalog.add_artifact(name, "model", digest, len(content), "alice", **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ artifacts


def test_versions_count_up_per_name(catalog: Catalog) -> None:
    first = add_model(catalog, "fraud/model", b"v1", labels={"team": "risk"})
    second = add_model(catalog, "fraud/model", b"v2", media_type="application/octet-stream")
    other = add_model(catalog, "churn-model", b"v1")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.reference == "fraud/model:1"
    assert first.digest == digest_of(b"v1")
    assert first.kind == "model" and first.creator == "alice" and first.size == 2
    assert dict(first.labels) == {"team": "risk"}
    assert second.labels == {} and second.media_type == "application/octet-stream"
    assert first.created_at.tzinfo is not None and first.created_at > START
    assert first.ref == f"artifact:{first.id}"
    assert not first.deleted and first.signature is None


def test_records_are_frozen_snapshots(catalog: Catalog) -> None:
    record = add_model(catalog, "m", labels={"a": "b"})
    with pytest.raises(AttributeError):
        record.version = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.labels["a"] = "changed"  # type: ignore[index]
    assert catalog.get_artifact(record.id) == record


def test_resolve_latest_or_exact_version(catalog: Catalog) -> None:
    add_model(catalog, "m", b"1")
    second = add_model(catalog, "m", b"2")
    third = add_model(catalog, "m", b"3")
    assert catalog.resolve("m") == third
    assert catalog.resolve("m:2") == second
    catalog.mark_deleted(third.id)
    assert catalog.resolve("m") == second


def test_resolve_explains_what_is_missing(catalog: Catalog) -> None:
    with pytest.raises(UsageError) as caught:
        catalog.resolve("nothing-here")
    assert "no artifact named nothing-here" in str(caught.value)
    assert "`mlwarden store ls` lists them" in str(caught.value)

    first = add_model(catalog, "m", b"1")
    add_model(catalog, "m", b"2")
    with pytest.raises(UsageError, match=r"m has no version 7 \(the latest is 2\)"):
        catalog.resolve("m:7")
    catalog.mark_deleted(first.id)
    with pytest.raises(UsageError, match="m:1 was deleted at 2026-11-27"):
        catalog.resolve("m:1")

    only = add_model(catalog, "solo", b"s")
    catalog.mark_deleted(only.id)
    with pytest.raises(UsageError, match="every version of solo was deleted"):
        catalog.resolve("solo")


def test_deleted_version_numbers_are_never_reused(catalog: Catalog) -> None:
    add_model(catalog, "m", b"1")
    second = add_model(catalog, "m", b"2")
    catalog.mark_deleted(second.id)
    assert add_model(catalog, "m", b"3").version == 3


def test_mark_deleted_is_idempotent(catalog: Catalog) -> None:
    record = add_model(catalog, "m")
    first = catalog.mark_deleted(record.id)
    again = catalog.mark_deleted(record.id)
    assert first.deleted and again.deleted_at == first.deleted_at
    with pytest.raises(UsageError, match="no artifact has this id"):
        catalog.mark_deleted(424242)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../etc/passwd",
        "models/../secrets",
        "/absolute",
        "a//b",
        "trailing/",
        "-looks-like-a-flag",
        ".hidden",
        "has space",
        "semi;colon",
        "naïve",
        "nul\x00byte",
        "x" * 201,
    ],
)
def test_bad_names_are_refused(catalog: Catalog, name: str) -> None:
    digest = add_blob(catalog, b"content")
    with pytest.raises(UsageError, match="artifact name"):
        catalog.add_artifact(name, "model", digest, 7, "alice")
    with pytest.raises(UsageError):
        catalog.resolve(name)
    assert catalog.list_artifacts(include_deleted=True) == []


@pytest.mark.parametrize("reference", ["m:0", "m:-1", "m:latest", "m:99999999999", "m:"])
def test_bad_versions_are_refused(catalog: Catalog, reference: str) -> None:
    with pytest.raises(UsageError, match="is not a positive whole number"):
        catalog.resolve(reference)


def test_other_fields_are_validated(catalog: Catalog) -> None:
    digest = add_blob(catalog, b"c")
    good = {"name": "m", "kind": "model", "digest": digest, "size": 1, "creator": "alice"}
    for field, value, message in [
        ("kind", "Model!", "artifact kind"),
        ("digest", "ABC", "not a SHA-256 digest"),
        ("size", -1, "not a byte count"),
        ("creator", "", "creator"),
        ("creator", "evil\nlog line", "control characters"),
        ("labels", {"bad key": "v"}, "label key"),
        ("labels", {"k": "v\x1b[31m"}, "control characters"),
        ("labels", {f"k{i}": "v" for i in range(65)}, "more than 64"),
        ("media_type", "not a type", "media type"),
    ]:
        with pytest.raises(UsageError, match=message):
            catalog.add_artifact(**{**good, field: value})  # type: ignore[arg-type]
    assert catalog.list_artifacts(include_deleted=True) == []


def test_artifacts_need_a_live_blob(catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="is not in the catalog"):
        catalog.add_artifact("m", "model", digest_of(b"never stored"), 1, "alice")
    digest = add_blob(catalog, b"erased")
    catalog.shred_blob(digest)
    with pytest.raises(UsageError, match="crypto-shredded"):
        catalog.add_artifact("m", "model", digest, 1, "alice")


def test_list_filters_by_name_kind_and_labels(catalog: Catalog) -> None:
    a1 = add_model(catalog, "a", b"a1", labels={"team": "risk", "pii": "yes"})
    a2 = add_model(catalog, "a", b"a2", labels={"team": "growth"})
    digest = add_blob(catalog, b"rows")
    data = catalog.add_artifact("customers", "dataset", digest, 4, "bob", labels={"pii": "no"})
    gone = add_model(catalog, "b", b"b1", labels={"team": "risk"})
    catalog.mark_deleted(gone.id)

    assert catalog.list_artifacts() == [a1, a2, data]
    assert catalog.list_artifacts(name="a") == [a1, a2]
    assert catalog.list_artifacts(kind="dataset") == [data]
    assert catalog.list_artifacts(labels={"team": "risk"}) == [a1]
    assert catalog.list_artifacts(labels={"team": "risk", "pii": "yes"}) == [a1]
    assert catalog.list_artifacts(labels={"team": "risk", "pii": "no"}) == []
    assert catalog.list_artifacts(labels={"pii": None}) == [a1, data]
    assert catalog.list_artifacts(labels={"team": "risk"}, include_deleted=True) == [
        a1,
        catalog.get_artifact(gone.id),
    ]
    assert catalog.list_artifacts(limit=2) == [a1, a2]


def test_listing_order_is_the_same_on_every_engine(catalog: Catalog) -> None:
    names = ["b-model", "B-model", "a.model", "a/model", "a-model", "a_model", "A9"]
    for name in names:
        add_model(catalog, name, name.encode())
    # Byte order (as Python sorts str), whatever collation the server was set up with.
    assert [record.name for record in catalog.list_artifacts()] == sorted(names)


def test_artifacts_for_digest_includes_deleted_ones(catalog: Catalog) -> None:
    shared = add_model(catalog, "m", b"same bytes")
    copy = catalog.add_artifact("copy", "file", shared.digest, shared.size, "bob")
    add_model(catalog, "unrelated", b"other")
    catalog.mark_deleted(shared.id)
    found = catalog.artifacts_for_digest(shared.digest)
    assert [record.id for record in found] == [shared.id, copy.id]
    assert found[0].deleted


def test_signatures_attach_to_live_artifacts(catalog: Catalog) -> None:
    record = add_model(catalog, "m")
    bundle = b'{"dsseEnvelope": {}}'
    assert catalog.set_signature(record.id, bundle).signature == bundle
    assert catalog.resolve("m").signature == bundle
    with pytest.raises(UsageError, match=r"outside 1\.\.1048576"):
        catalog.set_signature(record.id, b"x" * (1024 * 1024 + 1))
    catalog.mark_deleted(record.id)
    with pytest.raises(UsageError, match="was deleted"):
        catalog.set_signature(record.id, bundle)


# ---------------------------------------------------------------------------------- blobs


def test_blobs_round_trip_and_duplicates_keep_the_first(catalog: Catalog) -> None:
    digest = add_blob(catalog, b"content", wrapped=b"first-wrapping")
    record = catalog.get_blob(digest)
    assert record is not None
    assert record.wrapped_dek == b"first-wrapping" and record.kek_version == "1"
    assert record.size == 7 and record.stored_size == 67 and not record.shredded
    assert "first-wrapping" not in repr(record)  # keys stay out of logs and tracebacks

    again = catalog.add_blob(
        digest,
        size=7,
        stored_size=67,
        backend_key="another-object",
        blob_id=b"\x01" * 16,
        chunk_size=1 << 20,
        wrapped_dek=b"second-wrapping",
        kek_provider="keyring",
        kek_id="main",
        kek_version="1",
    )
    assert again == record  # the caller sees its ciphertext was not the one kept
    assert catalog.get_blob(digest_of(b"unknown")) is None


def test_shredding_destroys_the_key_for_good(catalog: Catalog) -> None:
    digest = add_blob(catalog, b"personal data")
    shredded = catalog.shred_blob(digest)
    assert shredded.shredded and shredded.wrapped_dek is None
    assert shredded.shredded_at is not None
    assert catalog.shred_blob(digest).shredded_at == shredded.shredded_at  # idempotent
    assert catalog.update_wrapped_dek(digest, b"resurrected", "2") is False
    assert catalog.get_blob(digest) == shredded
    with pytest.raises(UsageError, match="cannot be stored again"):
        add_blob(catalog, b"personal data")
    with pytest.raises(UsageError, match="is not in the catalog"):
        catalog.shred_blob(digest_of(b"unknown"))


def test_sqlite_shredding_leaves_no_copy_of_the_key_on_disk(
    database: DatabaseTarget, catalog: Catalog
) -> None:
    if database.kind != "sqlite":
        pytest.skip("PostgreSQL keeps old row versions until VACUUM (documented)")
    folder = Path(database.url.removeprefix("sqlite:///")).parent
    marker = b"WRAPPED-DEK-" + os.urandom(16)
    digest = add_blob(catalog, b"secret", wrapped=marker)

    def on_disk() -> bool:
        return any(marker in path.read_bytes() for path in folder.iterdir() if path.is_file())

    assert on_disk()  # the check can see the key while it exists
    catalog.shred_blob(digest)
    assert not on_disk()


def test_rotation_pages_through_blobs_on_old_versions(catalog: Catalog) -> None:
    old = sorted(add_blob(catalog, f"old {i}".encode(), version="1") for i in range(5))
    add_blob(catalog, b"already new", version="2")
    shredded = add_blob(catalog, b"erased", version="1")
    catalog.shred_blob(shredded)

    first = catalog.blobs_with_kek_version_not("2", batch=3)
    assert [b.digest for b in first] == old[:3]
    rest = catalog.blobs_with_kek_version_not("2", batch=3, after=first[-1].digest)
    assert [b.digest for b in rest] == old[3:]

    assert catalog.update_wrapped_dek(old[0], b"rewrapped", "2", kek_id="main-2")
    updated = catalog.get_blob(old[0])
    assert updated is not None
    assert (updated.wrapped_dek, updated.kek_version, updated.kek_id) == (
        b"rewrapped",
        "2",
        "main-2",
    )
    assert [b.digest for b in catalog.blobs_with_kek_version_not("2")] == old[1:]
    assert catalog.update_wrapped_dek(digest_of(b"unknown"), b"w", "2") is False


def test_rewrap_jobs_resume_and_finish(catalog: Catalog) -> None:
    digests = sorted(add_blob(catalog, f"b{i}".encode()) for i in range(4))
    assert catalog.current_rewrap_job() is None
    job = catalog.start_rewrap_job("2")
    assert (job.target_version, job.total, job.done, job.cursor) == ("2", 4, 0, None)
    assert catalog.start_rewrap_job("2") == job  # resumed, not duplicated
    with pytest.raises(UsageError, match="is unfinished"):
        catalog.start_rewrap_job("3")

    progressed = catalog.record_rewrap_progress(job.id, cursor=digests[1], advanced=2)
    assert (progressed.cursor, progressed.done) == (digests[1], 2)
    assert catalog.current_rewrap_job() == progressed
    finished = catalog.finish_rewrap_job(job.id)
    assert finished.finished and catalog.current_rewrap_job() is None
    assert catalog.finish_rewrap_job(job.id) == finished
    with pytest.raises(UsageError, match="already finished"):
        catalog.record_rewrap_progress(job.id, cursor=digests[2], advanced=1)
    assert catalog.start_rewrap_job("3").id != job.id


# -------------------------------------------------------------------------------- lineage


@pytest.fixture
def pipeline(catalog: Catalog) -> dict[str, str]:
    """customers + clicks → run:train-7 → fraud-model → deployment:prod; clicks → churn."""
    refs = {}
    for name, kind in [
        ("customers", "dataset"),
        ("clicks", "dataset"),
        ("fraud-model", "model"),
        ("churn", "model"),
    ]:
        digest = add_blob(catalog, name.encode())
        refs[name] = catalog.add_artifact(name, kind, digest, 1, "ci").ref
    for source, target, relation in [
        (refs["customers"], "run:train-7", "consumed"),
        (refs["clicks"], "run:train-7", "consumed"),
        ("run:train-7", refs["fraud-model"], "produced"),
        (refs["fraud-model"], "deployment:prod", "deployed"),
        (refs["clicks"], refs["churn"], "trained"),
    ]:
        catalog.add_edge(source, target, relation)
    return refs


def test_lineage_up_finds_training_data(catalog: Catalog, pipeline: dict[str, str]) -> None:
    edges = catalog.lineage(pipeline["fraud-model"], "up")
    assert [(e.source, e.target) for e in edges] == [
        ("run:train-7", pipeline["fraud-model"]),
        (pipeline["customers"], "run:train-7"),
        (pipeline["clicks"], "run:train-7"),
    ]
    assert catalog.lineage(pipeline["fraud-model"], "up", depth=1) == edges[:1]


def test_lineage_down_finds_everything_a_dataset_reaches(
    catalog: Catalog, pipeline: dict[str, str]
) -> None:
    reached = {e.target for e in catalog.lineage(pipeline["clicks"], "down")}
    assert reached == {"run:train-7", pipeline["fraud-model"], "deployment:prod", pipeline["churn"]}
    # Deleting an artifact does not hide what was derived from it.
    catalog.mark_deleted(int(pipeline["fraud-model"].split(":")[1]))
    assert {e.target for e in catalog.lineage(pipeline["clicks"], "down")} == reached


def test_lineage_walks_cycles_once_and_bounds_its_answer(
    catalog: Catalog, pipeline: dict[str, str]
) -> None:
    catalog.add_edge("deployment:prod", pipeline["customers"], "feedback")  # a loop
    edges = catalog.lineage(pipeline["customers"], "down", depth=50)
    assert len(edges) == len({e.id for e in edges}) == 4
    with pytest.raises(UsageError, match="more than 2 edges"):
        catalog.lineage(pipeline["customers"], "down", max_edges=2)


def test_edges_are_idempotent_and_validated(catalog: Catalog, pipeline: dict[str, str]) -> None:
    edge = catalog.add_edge(pipeline["churn"], "deployment:batch", "deployed")
    assert catalog.add_edge(pipeline["churn"], "deployment:batch", "deployed") == edge
    for source, target, relation, message in [
        ("artifact:999999", "run:x", "consumed", "no artifact has this id"),
        ("artifact:churn", "run:x", "consumed", "other than its id"),
        ("run:x", "run:x", "loops", "points at itself"),
        ("not a ref", "run:x", "consumed", "is not KIND:ID"),
        ("run:x", "run:y", "Bad Relation", "lineage relation"),
    ]:
        with pytest.raises(UsageError, match=message):
            catalog.add_edge(source, target, relation)
    for direction, depth in [("sideways", 1), ("up", 0), ("up", 10_000)]:
        with pytest.raises(UsageError):
            catalog.lineage("run:x", direction, depth)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- concurrency

WRITER = Path(__file__).with_name("version_writer.py")


def test_two_processes_get_distinct_versions(
    database: DatabaseTarget, catalog: Catalog, tmp_path: Path
) -> None:
    digest = add_blob(catalog, b"shared weights")
    go = tmp_path / "go"
    per_process = 25

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                str(WRITER),
                database.url,
                database.schema or "-",
                "race/model",
                digest,
                str(per_process),
                str(go),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )

    processes = [spawn(), spawn()]
    go.touch()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    versions = [int(line) for output in outputs for line in output.split()]
    assert sorted(versions) == list(range(1, 2 * per_process + 1))
    assert [r.version for r in catalog.list_artifacts(name="race/model")] == sorted(versions)
