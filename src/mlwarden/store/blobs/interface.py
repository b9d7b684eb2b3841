"""What a blob backend is: a flat namespace of immutable, atomically committed objects.

The vault stores ciphertext here; the catalog decides which key means what. A backend only
promises that a key either holds exactly the bytes of one committed writer or nothing: a
reader never sees a half-written blob, whatever crashes in between.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from mlwarden.store.blobs.keys import check_key

Bytes = bytes | bytearray | memoryview

DEFAULT_ORPHAN_AGE = timedelta(hours=1)
"""Unfinished writes younger than this are left alone by ``sweep_orphans``."""


class BlobWriter(Protocol):
    """An open write to one key. Nothing is visible under the key until :meth:`commit`.

    Use it as a context manager: leaving the ``with`` block without calling
    :meth:`commit` (normally or by an exception) aborts the write.
    """

    key: str

    def write(self, data: Bytes, /) -> int:
        """Append ``data``; returns ``len(data)``."""
        ...

    def commit(self) -> int:
        """Make the written bytes visible under the key, atomically; returns their count.

        A blob already stored under the key is replaced; readers see the old or the new
        bytes, never a mix.
        """
        ...

    def abort(self) -> None:
        """Discard everything written. Safe to call more than once, or after a failure."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BlobBackend(Protocol):
    """Where blobs live. Every method validates its key first (see :mod:`.keys`)."""

    location: str
    """Where the blobs are, for messages (a path or ``s3://bucket/prefix``); never secrets."""

    def open_writer(self, key: str) -> BlobWriter:
        """Start writing a blob; see :class:`BlobWriter`."""
        ...

    def open_reader(self, key: str) -> BinaryIO:
        """A stream over the blob, read in bounded memory; close it when done.

        Raises :class:`~mlwarden.store.blobs.keys.BlobNotFoundError` if nothing is stored.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether a committed blob is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error (retries are safe)."""
        ...

    def size(self, key: str) -> int:
        """Stored size in bytes; raises ``BlobNotFoundError`` if nothing is stored."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every committed key, in ascending order; unfinished writes never appear."""
        ...

    def modified_at(self, key: str) -> datetime:
        """When the blob under ``key`` was committed (timezone-aware UTC)."""
        ...

    def sweep_orphans(self, older_than: timedelta = DEFAULT_ORPHAN_AGE) -> int:
        """Remove what crashed writers left behind; returns how many were removed.

        Only unfinished writes started more than ``older_than`` ago are touched, so a
        sweep can run while other processes write.
        """
        ...


class WriterBase(ABC):
    """The state machine every backend's writer shares: open → committed | aborted.

    Subclasses implement :meth:`_write`, :meth:`_commit` and :meth:`_abort`; this class
    guarantees that a failed commit aborts, that nothing is written after the end, and
    that a ``with`` block left without a commit aborts.
    """

    def __init__(self, key: str) -> None:
        self.key = check_key(key)
        self._written = 0
        self._state = "open"

    def write(self, data: Bytes, /) -> int:
        self._require_open("write to")
        count = memoryview(data).nbytes
        if count:
            self._write(data)
            self._written += count
        return count

    def commit(self) -> int:
        self._require_open("commit")
        try:
            self._commit()
        except BaseException:
            # The commit's own error is what the caller needs; a failing cleanup must not hide it.
            with suppress(Exception):
                self.abort()
            raise
        self._state = "committed"
        return self._written

    def abort(self) -> None:
        if self._state != "open":
            return
        self._state = "aborted"
        self._abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def _require_open(self, action: str) -> None:
        if self._state != "open":
            # A programming error, not bad input: like writing to a closed file.
            raise ValueError(f"cannot {action} blob {self.key}: the write is {self._state}")

    @abstractmethod
    def _write(self, data: Bytes) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _abort(self) -> None: ...
