"""Every way of altering an encrypted blob is detected: the envelope's security contract."""

from __future__ import annotations

import io
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.store.crypto.envelope import (
    HEADER_SIZE,
    MAGIC,
    TAG_SIZE,
    EnvelopeCipher,
    IntegrityError,
    new_blob_id,
    new_data_key,
)

CHUNK = 64
RECORD = CHUNK + TAG_SIZE
DATA = os.urandom(3 * CHUNK + 10)  # three full chunks and a short final one
DEK = new_data_key()
BLOB_ID = new_blob_id()


def seal(data: bytes = DATA, dek: bytes = DEK, blob_id: bytes = BLOB_ID) -> bytes:
    out = io.BytesIO()
    EnvelopeCipher(CHUNK).encrypt_stream(io.BytesIO(data), out, dek, blob_id)
    return out.getvalue()


def open_blob(blob: bytes, dek: bytes = DEK, blob_id: bytes | None = BLOB_ID) -> bytes:
    """Decrypt ``blob``; ``blob_id`` None skips the expected-id check."""
    out = io.BytesIO()
    EnvelopeCipher().decrypt_stream(io.BytesIO(blob), out, dek, blob_id)
    return out.getvalue()


def split(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_SIZE:]
    return blob[:HEADER_SIZE], [body[i : i + RECORD] for i in range(0, len(body), RECORD)]


BLOB = seal()


def test_the_untouched_blob_opens() -> None:
    assert open_blob(BLOB) == DATA
    assert len(split(BLOB)[1]) == 4


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_flipping_any_bit_anywhere_is_detected(mask: int) -> None:
    for position in range(len(BLOB)):
        tampered = bytearray(BLOB)
        tampered[position] ^= mask
        with pytest.raises(IntegrityError):
            open_blob(bytes(tampered))


def test_every_truncation_is_detected() -> None:
    for length in range(len(BLOB)):
        with pytest.raises(IntegrityError):
            open_blob(BLOB[:length])


def test_an_empty_plaintext_cannot_be_truncated_to_its_header() -> None:
    blob = seal(b"")
    assert open_blob(blob) == b""
    assert len(blob) == HEADER_SIZE + TAG_SIZE
    with pytest.raises(IntegrityError, match="ends before its final chunk"):
        open_blob(blob[:HEADER_SIZE])


def test_swapped_chunks_are_detected() -> None:
    header, chunks = split(BLOB)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(IntegrityError, match="chunk 0 failed"):
        open_blob(header + b"".join(chunks))


def test_dropping_the_final_chunk_is_detected() -> None:
    header, chunks = split(BLOB)
    with pytest.raises(IntegrityError, match="chunk 2 failed authentication"):
        open_blob(header + b"".join(chunks[:-1]))
    # With a plaintext of whole chunks the new last chunk is full-sized: still detected.
    header, chunks = split(seal(DATA[: 3 * CHUNK]))
    with pytest.raises(IntegrityError):
        open_blob(header + b"".join(chunks[:-1]))


def test_dropping_a_middle_chunk_is_detected() -> None:
    header, chunks = split(BLOB)
    with pytest.raises(IntegrityError, match="chunk 1 failed"):
        open_blob(header + chunks[0] + b"".join(chunks[2:]))


def test_appended_chunks_and_trailing_bytes_are_detected() -> None:
    _, chunks = split(BLOB)
    with pytest.raises(IntegrityError):
        open_blob(BLOB + chunks[1])
    with pytest.raises(IntegrityError):
        open_blob(BLOB + chunks[-1])
    for extra in (b"\x00", b"x" * TAG_SIZE, b"y" * (RECORD + 3)):
        with pytest.raises(IntegrityError):
            open_blob(BLOB + extra)


def test_duplicated_chunk_is_detected() -> None:
    header, chunks = split(BLOB)
    with pytest.raises(IntegrityError):
        open_blob(header + chunks[0] + chunks[0] + b"".join(chunks[1:]))


def test_a_chunk_from_another_blob_under_the_same_key_is_refused() -> None:
    other = seal(os.urandom(len(DATA)), blob_id=new_blob_id())
    header, chunks = split(BLOB)
    _, foreign = split(other)
    for index in range(len(chunks)):
        spliced = list(chunks)
        spliced[index] = foreign[index]
        with pytest.raises(IntegrityError, match=f"chunk {index} failed"):
            open_blob(header + b"".join(spliced))


def test_a_chunk_from_a_blob_under_another_key_is_refused() -> None:
    other = seal(DATA, dek=new_data_key(), blob_id=BLOB_ID)
    header, chunks = split(BLOB)
    _, foreign = split(other)
    with pytest.raises(IntegrityError, match="chunk 1 failed"):
        open_blob(header + chunks[0] + foreign[1] + b"".join(chunks[2:]))


def test_another_blobs_header_is_refused() -> None:
    other = seal(DATA, blob_id=new_blob_id())
    with pytest.raises(IntegrityError, match="chunk 0 failed"):
        open_blob(other[:HEADER_SIZE] + BLOB[HEADER_SIZE:], blob_id=None)


def test_wrong_blob_id_wrong_key_and_wrong_digest_are_refused() -> None:
    with pytest.raises(IntegrityError, match="id is not the one the catalog expects"):
        open_blob(BLOB, blob_id=new_blob_id())
    with pytest.raises(IntegrityError, match="chunk 0 failed"):
        open_blob(BLOB, dek=new_data_key())
    with pytest.raises(IntegrityError, match="SHA-256"):
        EnvelopeCipher().decrypt_stream(io.BytesIO(BLOB), io.BytesIO(), DEK, None, "0" * 64)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"NOTMLWEN" + BLOB[8:HEADER_SIZE], "magic"),
        (MAGIC + struct.pack(">H", 2) + BLOB[10:HEADER_SIZE], "format version 2"),
        (MAGIC + b"\x00\x01" + struct.pack(">I", 0xFFFFFFFF) + BLOB_ID, "out of bounds"),
        (MAGIC + b"\x00\x01" + struct.pack(">I", 0) + BLOB_ID, "out of bounds"),
        (BLOB[: HEADER_SIZE - 1], "inside its header"),
    ],
    ids=["magic", "version", "huge-chunk", "zero-chunk", "short"],
)
def test_bad_headers_are_refused_before_any_allocation(header: bytes, message: str) -> None:
    with pytest.raises(IntegrityError, match=message):
        open_blob(header + BLOB[HEADER_SIZE:] if len(header) == HEADER_SIZE else header)


def test_a_rewritten_chunk_size_is_refused() -> None:
    # A smaller chunk size in the header would re-split the records: the header is
    # authenticated in every chunk, so this fails at the first tag.
    forged = MAGIC + b"\x00\x01" + struct.pack(">I", CHUNK // 2) + BLOB_ID + BLOB[HEADER_SIZE:]
    with pytest.raises(IntegrityError, match="chunk 0 failed"):
        open_blob(forged)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_arbitrary_edits_never_open(data: st.DataObject) -> None:
    blob = bytearray(BLOB)
    edits = data.draw(st.integers(min_value=1, max_value=4))
    for _ in range(edits):
        kind = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        position = data.draw(st.integers(min_value=0, max_value=max(len(blob) - 1, 0)))
        if kind == "replace" and blob:
            blob[position] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            blob[position:position] = data.draw(st.binary(min_size=1, max_size=RECORD))
        elif blob:
            del blob[position : position + data.draw(st.integers(1, RECORD))]
    if bytes(blob) == BLOB:
        return
    with pytest.raises(IntegrityError):
        open_blob(bytes(blob))
