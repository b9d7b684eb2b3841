"""Streaming, chunked AES-256-GCM for stored artifacts (the inner layer of envelope encryption).

Each artifact is encrypted under its own random 32-byte data key (DEK); a key provider
(:mod:`mlwarden.store.crypto.keys`) wraps that DEK, and the catalog keeps the wrapped DEK
next to the blob's row. Deleting the wrapped DEK crypto-shreds the blob: the ciphertext
stays in the backend but nobody can decrypt it any more.

Blob layout (all integers big-endian)::

    header  = magic b"MLWENC\\x00\\x01" | format version u16 | chunk size u32 | blob_id 16 bytes
    chunk i = AES-256-GCM(DEK, nonce_i, plaintext_i, aad_i)   (ciphertext || 16-byte tag)
    nonce_i = 4 zero bytes | i as u64
    aad_i   = header | i as u64 | final flag u8

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds
0 to ``chunk size`` bytes and is the only one sealed with the final flag set. An empty
plaintext is one empty final chunk. Because the header (and with it the blob id and chunk
size), the index and the final flag are authenticated in every chunk, chunks cannot be
reordered, dropped, duplicated, appended, truncated or moved between blobs without a tag
failure. A counter nonce is safe because a DEK encrypts exactly one blob, once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import queue
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlwarden.errors import MlwardenError

MAGIC = b"MLWENC\x00\x01"
FORMAT_VERSION = 1
DEK_SIZE = 32
BLOB_ID_SIZE = 16
TAG_SIZE = 16
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1
MAX_CHUNK_SIZE = 16 << 20
"""Largest chunk accepted, from callers and from headers: a stream holds at most 5 chunks
in memory. Chunks above a few MiB buy no speed."""

_HEADER = struct.Struct(">8sHI16s")
HEADER_SIZE = _HEADER.size
_NONCE_PREFIX = b"\x00\x00\x00\x00"
_PARALLEL_HASH_MIN = 256 << 10
"""Chunks at least this large are hashed on a worker thread (see :class:`_ChunkHasher`);
for smaller ones the hand-over costs more than it saves."""


class ByteSource(Protocol):
    """What the cipher reads from: any binary stream (files, sockets, pipes, ``BytesIO``).

    ``readinto`` is used when the object has it; ``read`` otherwise.
    """

    def read(self, size: int, /) -> bytes | None: ...


class ByteSink(Protocol):
    """What the cipher writes to: any binary stream; partial writes are retried."""

    def write(self, data: memoryview, /) -> int | None: ...


class IntegrityError(MlwardenError):
    """A blob or wrapped key failed authentication: it was altered, truncated, extended,
    moved from another blob, or decrypted with the wrong key.

    Nothing about the data can be trusted; the message says where the check failed.
    """

    def __init__(self, subject: str, problem: str) -> None:
        self.subject = subject
        self.problem = problem
        super().__init__(
            f"{subject}: {problem}. The data was altered, truncated or belongs to another "
            "blob or key; discard any output and restore the blob from a trusted copy."
        )


@dataclass(frozen=True)
class BlobHeader:
    """The authenticated header at the start of every encrypted blob."""

    version: int
    """Format version (1: AES-256-GCM with counter nonces)."""
    chunk_size: int
    """Plaintext bytes per chunk (every chunk but the last is exactly this long)."""
    blob_id: bytes
    """16 random bytes naming the blob; bound into every chunk."""

    def pack(self) -> bytes:
        """The header's bytes as written at the start of the blob."""
        return _HEADER.pack(MAGIC, self.version, self.chunk_size, self.blob_id)

    @classmethod
    def parse(cls, data: bytes, *, subject: str = "encrypted blob") -> BlobHeader:
        """Parse and bound a header; raise :class:`IntegrityError` when it is not one."""
        if len(data) < HEADER_SIZE:
            raise IntegrityError(subject, "the blob ends inside its header")
        magic, version, chunk_size, blob_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise IntegrityError(subject, "the blob does not start with mlwarden's magic bytes")
        if version != FORMAT_VERSION:
            raise IntegrityError(subject, f"unknown blob format version {version}")
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise IntegrityError(subject, f"chunk size {chunk_size} is out of bounds")
        return cls(version=version, chunk_size=chunk_size, blob_id=bytes(blob_id))


@dataclass(frozen=True)
class EncryptedInfo:
    """What :meth:`EnvelopeCipher.encrypt_stream` wrote: what the catalog row records."""

    sha256: str
    """Lower-case hex SHA-256 of the plaintext (the blob's content address)."""
    size: int
    """Plaintext bytes read."""
    stored_size: int
    """Bytes written: header, chunks and tags."""
    chunk_size: int
    blob_id: bytes
    chunks: int


@dataclass(frozen=True)
class DecryptedInfo:
    """What :meth:`EnvelopeCipher.decrypt_stream` read and checked."""

    size: int
    """Plaintext bytes written."""
    stored_size: int
    """Ciphertext bytes read, header included."""
    chunk_size: int
    blob_id: bytes
    chunks: int
    sha256: str | None
    """Hex SHA-256 of the plaintext when an expected digest was given (then it matched)."""


def new_data_key() -> bytes:
    """A fresh random 32-byte data key. Use each one for exactly one blob."""
    return AESGCM.generate_key(bit_length=256)


def new_blob_id() -> bytes:
    """A fresh random 16-byte blob id."""
    return os.urandom(BLOB_ID_SIZE)


class EnvelopeCipher:
    """Encrypts and decrypts blobs chunk by chunk, in O(chunk size) memory for any size.

    ``chunk_size`` applies to encryption; decryption reads the chunk size from the blob's
    header (bounded by :data:`MAX_CHUNK_SIZE`). Streams are read with ``readinto`` when they
    have it (``read`` otherwise) and written with ``write``; short reads are fine.

    With ``parallel_hash`` (the default) chunks of 256 KiB or more are hashed on a second
    thread while they are encrypted or written; pass False to stay on one core.
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, *, parallel_hash: bool = True) -> None:
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(
                f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}, "
                f"got {chunk_size}"
            )
        self.chunk_size = chunk_size
        self.parallel_hash = parallel_hash

    def encrypt_stream(
        self, src: ByteSource, dst: ByteSink, dek: bytes, blob_id: bytes
    ) -> EncryptedInfo:
        """Encrypt all of ``src`` into ``dst`` and return its digest and sizes.

        ``dek`` must be a fresh key from :func:`new_data_key` that has never encrypted
        anything else (nonces are counters, so reusing a DEK for two blobs breaks GCM), and
        ``blob_id`` a fresh id from :func:`new_blob_id`. The SHA-256 of the plaintext is
        computed in the same pass.
        """
        _check_dek(dek)
        if len(blob_id) != BLOB_ID_SIZE:
            raise ValueError(f"blob_id must be {BLOB_ID_SIZE} bytes, got {len(blob_id)}")
        header = BlobHeader(FORMAT_VERSION, self.chunk_size, bytes(blob_id)).pack()
        aead = AESGCM(dek)
        digest = hashlib.sha256()
        read = _reader(src)
        cap = self.chunk_size
        out = bytearray(cap + TAG_SIZE)
        _write_all(dst, header)
        stored = HEADER_SIZE
        total = 0
        index = 0
        parallel = self.parallel_hash and cap >= _PARALLEL_HASH_MIN
        with _ChunkHasher(digest, cap, parallel=parallel, depth=4) as hasher:
            current = hasher.acquire()
            filled = _read_full(read, current)
            while True:
                final = filled < cap
                ahead, ahead_filled = None, 0
                if not final:
                    # Only a look-ahead tells whether a full chunk is the last one.
                    ahead = hasher.acquire()
                    ahead_filled = _read_full(read, ahead)
                    final = ahead_filled == 0
                sealed = memoryview(out)[: filled + TAG_SIZE]
                aead.encrypt_into(
                    _nonce(index),
                    memoryview(current)[:filled],
                    _chunk_aad(header, index, final),
                    sealed,
                )
                _write_all(dst, sealed)
                hasher.submit(current, filled)
                stored += filled + TAG_SIZE
                total += filled
                index += 1
                if final or ahead is None:
                    if ahead is not None:
                        hasher.release(ahead)
                    break
                current, filled = ahead, ahead_filled
        return EncryptedInfo(
            sha256=digest.hexdigest(),
            size=total,
            stored_size=stored,
            chunk_size=cap,
            blob_id=bytes(blob_id),
            chunks=index,
        )

    def decrypt_stream(
        self,
        src: ByteSource,
        dst: ByteSink,
        dek: bytes,
        expected_blob_id: bytes | None = None,
        expected_digest: str | None = None,
        *,
        subject: str = "encrypted blob",
    ) -> DecryptedInfo:
        """Decrypt ``src`` into ``dst``, authenticating every chunk and the blob's end.

        Raises :class:`IntegrityError` on a bad or foreign header, a wrong ``blob_id``, a
        tag failure (tampering, wrong key, reordered or foreign chunks), truncation,
        trailing bytes, or a plaintext whose SHA-256 differs from ``expected_digest``.
        ``subject`` names the blob in error messages.

        Plaintext reaches ``dst`` chunk by chunk, each one authenticated, but the blob as a
        whole is only known to be intact when this returns. Callers must therefore write to
        a temporary destination and delete it if this raises, and only then move it into
        place or hand it on.
        """
        _check_dek(dek)
        if expected_digest is not None:
            expected_digest = _normalise_digest(expected_digest)
        read = _reader(src)
        header_bytes = bytearray(HEADER_SIZE)
        got = _read_full(read, header_bytes)
        header = BlobHeader.parse(bytes(header_bytes[:got]), subject=subject)
        if expected_blob_id is not None and not hmac.compare_digest(
            header.blob_id, expected_blob_id
        ):
            raise IntegrityError(subject, "the blob's id is not the one the catalog expects")
        packed = bytes(header_bytes)
        aead = AESGCM(dek)
        record = header.chunk_size + TAG_SIZE
        current, ahead = bytearray(record), bytearray(record)
        digest = hashlib.sha256() if expected_digest is not None else None
        stored = HEADER_SIZE
        total = 0
        index = 0
        parallel = self.parallel_hash and header.chunk_size >= _PARALLEL_HASH_MIN
        with _ChunkHasher(digest, header.chunk_size, parallel=parallel, depth=3) as hasher:
            filled = _read_full(read, current)
            while True:
                if filled < TAG_SIZE:
                    raise IntegrityError(
                        subject,
                        "the blob ends before its final chunk"
                        if filled == 0
                        else f"chunk {index} is cut short",
                    )
                final = filled < record
                ahead_filled = 0
                if not final:
                    ahead_filled = _read_full(read, ahead)
                    final = ahead_filled == 0
                length = filled - TAG_SIZE
                out = hasher.acquire()
                try:
                    aead.decrypt_into(
                        _nonce(index),
                        memoryview(current)[:filled],
                        _chunk_aad(packed, index, final),
                        memoryview(out)[:length],
                    )
                except InvalidTag:
                    hasher.release(out)
                    raise IntegrityError(
                        subject,
                        f"chunk {index} failed authentication"
                        + (" (read as the final chunk)" if final else ""),
                    ) from None
                _write_all(dst, memoryview(out)[:length])
                hasher.submit(out, length)
                stored += filled
                total += length
                index += 1
                if final:
                    break
                current, ahead = ahead, current
                filled = ahead_filled
        sha256 = None
        if digest is not None:
            sha256 = digest.hexdigest()
            if not hmac.compare_digest(sha256, expected_digest or ""):
                raise IntegrityError(
                    subject, f"the plaintext's SHA-256 is {sha256}, not {expected_digest}"
                )
        return DecryptedInfo(
            size=total,
            stored_size=stored,
            chunk_size=header.chunk_size,
            blob_id=header.blob_id,
            chunks=index,
            sha256=sha256,
        )


class _Digest(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class _ChunkHasher:
    """Hashes chunks in order and lends out the buffers they live in.

    SHA-256 is several times slower than AES-GCM with AES-NI, so with ``parallel`` a worker
    thread hashes chunk *i* while the caller reads, encrypts and writes the chunks after it
    (hashlib and AES-GCM both release the GIL on large buffers). A buffer handed to
    :meth:`submit` comes back from :meth:`acquire` only after it was hashed, so at most
    ``depth`` chunk buffers exist. Without ``parallel`` (or without a digest) everything
    runs inline and two buffers suffice.
    """

    def __init__(self, digest: _Digest | None, size: int, *, parallel: bool, depth: int) -> None:
        self._digest = digest
        self._parallel = parallel and digest is not None
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(depth if self._parallel else 2):
            self._free.put(bytearray(size))
        self._todo: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._worker: threading.Thread | None = None
        if parallel and digest is not None:
            self._worker = threading.Thread(
                target=self._run, args=(digest,), name="mlwarden-sha256", daemon=True
            )
            self._worker.start()

    def __enter__(self) -> _ChunkHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._worker is not None:
            self._todo.put(None)
            self._worker.join()
            self._worker = None
        if self._error is not None and exc[0] is None:
            raise self._error

    def acquire(self) -> bytearray:
        """A buffer that is not being hashed (it may hold old data)."""
        return self._free.get()

    def release(self, buffer: bytearray) -> None:
        """Give back a buffer without hashing it."""
        self._free.put(buffer)

    def submit(self, buffer: bytearray, length: int) -> None:
        """Hash ``buffer[:length]`` after every chunk submitted before it, then free it."""
        if not self._parallel:
            if self._digest is not None:
                self._digest.update(memoryview(buffer)[:length])
            self._free.put(buffer)
        else:
            self._todo.put((buffer, length))

    def _run(self, digest: _Digest) -> None:
        while (item := self._todo.get()) is not None:
            buffer, length = item
            try:
                if self._error is None:
                    digest.update(memoryview(buffer)[:length])
            except BaseException as exc:  # re-raised by __exit__ on the caller's thread
                self._error = exc
            finally:
                self._free.put(buffer)


def _check_dek(dek: bytes) -> None:
    if len(dek) != DEK_SIZE:
        raise ValueError(f"a data key must be {DEK_SIZE} bytes, got {len(dek)}")


def _normalise_digest(value: str) -> str:
    lowered = value.lower()
    if len(lowered) != 64 or any(c not in "0123456789abcdef" for c in lowered):
        raise ValueError(f"expected_digest must be 64 hex digits, got {value!r}")
    return lowered


def _nonce(index: int) -> bytes:
    return _NONCE_PREFIX + index.to_bytes(8, "big")


def _chunk_aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _reader(src: ByteSource) -> Callable[[memoryview], int | None]:
    """``src.readinto`` when the stream has it, else an adapter over ``src.read``."""
    readinto: Callable[[memoryview], int | None] | None = getattr(src, "readinto", None)
    if readinto is not None:
        return readinto

    def read_into(buffer: memoryview) -> int | None:
        data = src.read(len(buffer))
        if data is None:
            return None  # refused by _read_full
        buffer[: len(data)] = data
        return len(data)

    return read_into


def _read_full(readinto: Callable[[memoryview], int | None], buffer: bytearray) -> int:
    """Fill ``buffer`` unless the stream ends first; return how many bytes were read."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        got = readinto(view[filled:])
        if got is None:
            raise ValueError("non-blocking streams are not supported: readinto returned None")
        if got == 0:
            break
        filled += got
    return filled


def _write_all(dst: ByteSink, data: bytes | memoryview) -> None:
    """Write all of ``data``; raw streams may accept only part of it per call."""
    view = memoryview(data)
    while view:
        written = dst.write(view)
        if written is None:
            raise ValueError("non-blocking streams are not supported: write returned None")
        # Buffered streams return the full length; raw ones may write less.
        view = view[written:]
