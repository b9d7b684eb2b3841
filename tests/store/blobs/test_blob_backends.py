"""Every blob backend keeps the same promises; each test runs on a local folder and on S3 (moto)."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlwarden.errors import UsageError
from mlwarden.store.blobs import BlobBackend, BlobNotFoundError, LocalBackend, backend_from_url
from mlwarden.store.blobs.s3 import MIN_PART_SIZE, S3Backend

MiB = 1024 * 1024


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks(seed: int, total: int, size: int = MiB) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes, produced a chunk at a time (never all in memory)."""
    rng = random.Random(seed)
    while total > 0:
        n = min(size, total)
        yield rng.randbytes(n)
        total -= n


@pytest.fixture
def backend(blob_store_url: str) -> BlobBackend:
    return backend_from_url(blob_store_url)


def store(backend: BlobBackend, data: bytes) -> str:
    key = digest_of(data)
    with backend.open_writer(key) as writer:
        writer.write(data)
        writer.commit()
    return key


def read_all(backend: BlobBackend, key: str) -> bytes:
    with backend.open_reader(key) as reader:
        return reader.read()


def assert_absent(backend: BlobBackend, key: str) -> None:
    assert not backend.exists(key)
    assert key not in list(backend.iter_keys())
    with pytest.raises(BlobNotFoundError):
        backend.open_reader(key)
    with pytest.raises(BlobNotFoundError):
        backend.size(key)


# ------------------------------------------------------------------------- commit / abort


def test_committed_blob_reads_back(backend: BlobBackend) -> None:
    data = b"ciphertext " * 1000
    key = digest_of(data)
    with backend.open_writer(key) as writer:
        assert writer.write(data[:5000]) == 5000
        writer.write(memoryview(data)[5000:])
        assert writer.commit() == len(data)
    assert backend.exists(key)
    assert backend.size(key) == len(data)
    assert read_all(backend, key) == data
    assert list(backend.iter_keys()) == [key]


def test_empty_blob_is_a_blob(backend: BlobBackend) -> None:
    key = store(backend, b"")
    assert backend.exists(key)
    assert backend.size(key) == 0
    assert read_all(backend, key) == b""


def test_nothing_is_visible_before_commit(backend: BlobBackend) -> None:
    key = digest_of(b"pending")
    writer = backend.open_writer(key)
    writer.write(b"x" * (MIN_PART_SIZE + 1))  # on S3, a multipart upload is in flight
    assert_absent(backend, key)
    writer.commit()
    assert backend.size(key) == MIN_PART_SIZE + 1


def test_abort_leaves_nothing_behind(backend: BlobBackend) -> None:
    key = digest_of(b"aborted")
    writer = backend.open_writer(key)
    writer.write(b"y" * (MIN_PART_SIZE + 1))
    writer.abort()
    writer.abort()  # idempotent
    assert_absent(backend, key)
    # No temp file or pending upload is left for a sweep to find.
    assert backend.sweep_orphans(older_than=timedelta(0)) == 0


def test_with_block_left_without_commit_aborts(backend: BlobBackend) -> None:
    key = digest_of(b"forgotten")
    with backend.open_writer(key) as writer:
        writer.write(b"data")
    assert_absent(backend, key)
    assert backend.sweep_orphans(older_than=timedelta(0)) == 0


def test_exception_inside_with_block_aborts(backend: BlobBackend) -> None:
    key = digest_of(b"failed")
    with (
        pytest.raises(RuntimeError, match="encryption failed"),
        backend.open_writer(key) as writer,
    ):
        writer.write(b"z" * (MIN_PART_SIZE * 2))
        raise RuntimeError("encryption failed")
    assert_absent(backend, key)
    assert backend.sweep_orphans(older_than=timedelta(0)) == 0


def test_finished_writer_refuses_more_work(backend: BlobBackend) -> None:
    key = digest_of(b"done")
    writer = backend.open_writer(key)
    writer.write(b"done")
    writer.commit()
    with pytest.raises(ValueError, match="committed"):
        writer.write(b"more")
    with pytest.raises(ValueError, match="committed"):
        writer.commit()
    writer.abort()  # after a commit, abort is a no-op and must not remove the blob
    assert read_all(backend, key) == b"done"


def test_commit_replaces_an_existing_blob_whole(backend: BlobBackend) -> None:
    key = digest_of(b"same key")
    for data in (b"first version" * 100, b"second"):
        with backend.open_writer(key) as writer:
            writer.write(data)
            writer.commit()
    assert read_all(backend, key) == b"second"
    assert list(backend.iter_keys()) == [key]


# ------------------------------------------------------------------- large blobs, streaming


def test_large_blob_round_trips_through_bounded_reads(backend: BlobBackend) -> None:
    total = 40 * MiB + 123
    expected = hashlib.sha256()
    key = "ab" * 32
    with backend.open_writer(key) as writer:
        for chunk in chunks(7, total):
            expected.update(chunk)
            writer.write(chunk)
        assert writer.commit() == total
    assert backend.size(key) == total

    seen = hashlib.sha256()
    read = 0
    with backend.open_reader(key) as reader:
        while block := reader.read(MiB):
            assert len(block) <= MiB
            seen.update(block)
            read += len(block)
    assert read == total
    assert seen.hexdigest() == expected.hexdigest()


def test_s3_sends_large_blobs_as_multipart_uploads(
    s3_endpoint: str, s3_bucket: str, s3_client: Any
) -> None:
    backend = S3Backend(s3_bucket, "p", endpoint_url=s3_endpoint)
    key = "cd" * 32
    with backend.open_writer(key) as writer:
        for chunk in chunks(3, 40 * MiB, size=3 * MiB):
            writer.write(chunk)
        writer.commit()
    etag = s3_client.head_object(Bucket=s3_bucket, Key=f"p/{key}")["ETag"].strip('"')
    # A multipart object's ETag ends in "-<number of parts>": five parts of 8 MiB.
    assert etag.endswith("-5")


def test_s3_rejects_part_sizes_outside_bounds(s3_bucket: str) -> None:
    with pytest.raises(UsageError, match="part size"):
        S3Backend(s3_bucket, part_size=5 * MiB)


# --------------------------------------------------------------------------- missing keys


def test_missing_key(backend: BlobBackend) -> None:
    key = digest_of(b"never stored")
    assert_absent(backend, key)
    with pytest.raises(BlobNotFoundError) as caught:
        backend.open_reader(key)
    assert key in str(caught.value)
    assert "mlwarden store ls" in str(caught.value)
    backend.delete(key)  # deleting what is not there is not an error


def test_delete_removes_the_blob(backend: BlobBackend) -> None:
    keep = store(backend, b"keep")
    gone = store(backend, b"gone")
    backend.delete(gone)
    assert_absent(backend, gone)
    assert list(backend.iter_keys()) == [keep]


# ------------------------------------------------------------------------------ key names

BAD_KEYS = [
    "",
    "../../../../etc/passwd",
    "/etc/passwd",
    "ab/cd/" + "a" * 64,
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "a" * 64 + "/..",
    "a" * 64 + ".partial",
    "a" * 64 + ".sig.sig",
    "a" * 64 + ".",
    "." + "a" * 64,
    "a" * 64 + "\x00",
    "a" * 64 + "\n",
    "..",
    "a" * 62 + "..",
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_keys_that_are_not_digests_are_rejected_everywhere(
    backend: BlobBackend, bad: str, tmp_path: Path
) -> None:
    for operation in (
        backend.open_writer,
        backend.open_reader,
        backend.exists,
        backend.delete,
        backend.size,
    ):
        with pytest.raises(UsageError, match="is not a blob key"):
            operation(bad)
    assert list(backend.iter_keys()) == []


def test_suffixed_keys_live_beside_their_digest(backend: BlobBackend) -> None:
    key = store(backend, b"model bytes")
    signature = key + ".sig"
    with backend.open_writer(signature) as writer:
        writer.write(b"bundle")
        writer.commit()
    assert read_all(backend, signature) == b"bundle"
    assert list(backend.iter_keys()) == [key, signature]


def test_iter_keys_is_sorted(backend: BlobBackend) -> None:
    keys = [store(backend, str(i).encode()) for i in range(20)]
    assert list(backend.iter_keys()) == sorted(keys)


# ---------------------------------------------------------------------- crashes and sweeps

_CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys
    from mlwarden.store.blobs import backend_from_url

    writer = backend_from_url(sys.argv[1]).open_writer(sys.argv[2])
    writer.write(b"c" * (int(sys.argv[3])))
    sys.stdout.flush()
    os._exit(0)  # die mid-write: no commit, no abort, no cleanup
    """
)


def crash_mid_write(url: str, key: str, size: int) -> None:
    subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, url, key, str(size)], check=True, timeout=60
    )


def test_crashed_write_is_invisible_until_swept(backend: BlobBackend, blob_store_url: str) -> None:
    survivor = store(backend, b"committed earlier")
    key = digest_of(b"crashed")
    crash_mid_write(blob_store_url, key, MIN_PART_SIZE + 1)

    assert_absent(backend, key)
    assert list(backend.iter_keys()) == [survivor]
    if isinstance(backend, LocalBackend):
        # moto reports a fixed 2010 start time for every upload, so on S3 the age guard is
        # tested with a scripted client below.
        assert backend.sweep_orphans(older_than=timedelta(hours=1)) == 0  # too recent
    assert backend.sweep_orphans(older_than=timedelta(0)) == 1
    assert backend.sweep_orphans(older_than=timedelta(0)) == 0
    assert read_all(backend, survivor) == b"committed earlier"
    # The key is usable again afterwards.
    assert store(backend, b"crashed") == key


class ScriptedUploads:
    """Just enough of an S3 client to list two pending uploads and record aborts."""

    def __init__(self, uploads: list[dict[str, Any]]) -> None:
        self.uploads = uploads
        self.aborted: list[str] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "list_multipart_uploads"
        uploads = self.uploads

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                assert kwargs["Prefix"] == "p/"
                return [{"Uploads": uploads}]

        return Pages()

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str) -> None:
        self.aborted.append(UploadId)


def test_s3_sweep_spares_recent_and_foreign_uploads() -> None:
    now = datetime.now(UTC)
    key = "ab" * 32
    client = ScriptedUploads(
        [
            {"Key": f"p/{key}", "UploadId": "old", "Initiated": now - timedelta(hours=3)},
            {"Key": f"p/{key}", "UploadId": "recent", "Initiated": now - timedelta(minutes=5)},
            {"Key": "p/other-tool/x", "UploadId": "foreign", "Initiated": now - timedelta(days=9)},
        ]
    )
    backend = S3Backend("bucket", "p", client=client)
    assert backend.sweep_orphans(older_than=timedelta(hours=1)) == 1
    assert client.aborted == ["old"]


def test_local_sweep_spares_a_live_writer(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    key = digest_of(b"slow upload")
    with backend.open_writer(key) as writer:
        writer.write(b"slow ")
        assert backend.sweep_orphans(older_than=timedelta(0)) == 0
        writer.write(b"upload")
        writer.commit()
    assert read_all(backend, key) == b"slow upload"


# ----------------------------------------------------------------------- backend specifics


def test_local_layout_fans_out_and_is_owner_only(tmp_path: Path) -> None:
    root = tmp_path / "store"
    backend = LocalBackend(root)
    key = store(backend, b"layout")
    path = root / key[:2] / key[2:4] / key
    assert path.read_bytes() == b"layout"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (root, path.parent.parent, path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Only the blob itself is there: no temp file survives a commit.
    assert sorted(os.listdir(path.parent)) == [key]


def test_local_ignores_foreign_files_and_refuses_symlinks(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    key = store(backend, b"real")
    folder = tmp_path / key[:2] / key[2:4]
    (tmp_path / "README").write_text("not a blob")
    (folder / "notes.txt").write_text("not a blob")
    misplaced = "ff" * 32  # a valid key in the wrong fan-out folder
    (folder / misplaced).write_bytes(b"misplaced")
    secret = tmp_path / "secret"
    secret.write_text("outside the store")
    linked = digest_of(b"link")
    link_folder = tmp_path / linked[:2] / linked[2:4]
    link_folder.mkdir(parents=True)
    (link_folder / linked).symlink_to(secret)

    assert list(backend.iter_keys()) == [key]
    assert not backend.exists(misplaced)
    assert not backend.exists(linked)
    with pytest.raises(UsageError, match="cannot be opened"):
        backend.open_reader(linked)


def test_s3_lists_only_its_own_prefix(s3_endpoint: str, s3_bucket: str, s3_client: Any) -> None:
    backend = S3Backend(s3_bucket, "team/blobs", endpoint_url=s3_endpoint)
    key = store(backend, b"mine")
    other = digest_of(b"other store")
    s3_client.put_object(Bucket=s3_bucket, Key=f"team/blobs/nested/{other}", Body=b"x")
    s3_client.put_object(Bucket=s3_bucket, Key=f"team/{other}", Body=b"x")
    s3_client.put_object(Bucket=s3_bucket, Key="team/blobs/README", Body=b"x")
    assert list(backend.iter_keys()) == [key]
    assert s3_client.get_object(Bucket=s3_bucket, Key=f"team/blobs/{key}")["Body"].read() == b"mine"


def test_s3_reports_a_missing_bucket(s3_endpoint: str) -> None:
    backend = S3Backend("no-such-bucket-here", endpoint_url=s3_endpoint)
    with pytest.raises(UsageError, match="bucket does not exist"):
        list(backend.iter_keys())


# ------------------------------------------------------------------------------ store URLs


def test_plain_paths_and_file_urls_are_local(tmp_path: Path) -> None:
    for url in (str(tmp_path), tmp_path, f"file://{tmp_path}", f"file://localhost{tmp_path}"):
        backend = backend_from_url(url)
        assert isinstance(backend, LocalBackend)
        assert backend.root == tmp_path


def test_s3_url_options() -> None:
    backend = backend_from_url(
        "s3://models-bucket/team/a/?endpoint=https://minio.internal:9000"
        "&region=eu-west-1&addressing=path&part_mib=16"
    )
    assert isinstance(backend, S3Backend)
    assert backend.bucket == "models-bucket"
    assert backend.prefix == "team/a"
    assert backend.part_size == 16 * MiB
    assert backend.location == "s3://models-bucket/team/a"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "is empty"),
        ("ftp://host/blobs", "is not supported"),
        ("s3://AKIA:secret@bucket/p", "contains credentials"),
        ("s3://bucket/p?endpoint=https://h&colour=blue", "unknown or repeated option"),
        ("s3://bucket/p?region=a&region=b", "unknown or repeated option"),
        ("s3://bucket/p?endpoint=http://storage.example.com", "plain HTTP"),
        ("s3://bucket/p?endpoint=https://user:pw@h", "no credentials"),
        ("s3://bucket/../other", "not a usable object prefix"),
        ("s3://Bad_Bucket/p", "not a valid S3 bucket name"),
        ("s3://bucket/p?part_mib=4", "part size"),
        ("s3://bucket/p?part_mib=lots", "not a whole number"),
        ("file://otherhost/path", "takes no host"),
    ],
)
def test_bad_store_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        backend_from_url(url)
    assert "secret" not in str(caught.value)


def test_plain_http_is_allowed_to_loopback_or_when_asked() -> None:
    for url in (
        "s3://bucket?endpoint=http://127.0.0.1:9000",
        "s3://bucket?endpoint=http://localhost:9000",
        "s3://bucket?endpoint=http://[::1]:9000",
        "s3://bucket?endpoint=http://minio.lan:9000&insecure=true",
    ):
        assert isinstance(backend_from_url(url), S3Backend)
