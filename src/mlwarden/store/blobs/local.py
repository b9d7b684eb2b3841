"""Blobs as files in a local folder, fanned out by key: ``<root>/ab/cd/abcd…``.

A write goes to a hidden temp file next to its final name, is fsynced, renamed over the
final name with :func:`os.replace` and made durable by an fsync of the folder, so a crash
leaves either the old blob, the new blob, or an invisible temp file for
:meth:`LocalBackend.sweep_orphans`. A live writer holds an ``flock`` on its temp file, which
is how a sweep tells an abandoned write from one in progress in another process.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Self
from urllib.parse import unquote, urlsplit

from mlwarden.errors import UsageError
from mlwarden.store.blobs.interface import DEFAULT_ORPHAN_AGE, Bytes, WriterBase
from mlwarden.store.blobs.keys import BlobNotFoundError, check_key, is_valid_key

if sys.platform != "win32":
    import fcntl

_FANOUT = re.compile(r"[0-9a-f]{2}")
_PARTIAL = re.compile(r"\.(?P<key>[0-9a-z.]+)\.[0-9a-f]{16}\.partial")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLDER_MODE = 0o700  # ciphertext only, but nobody else needs to list it
_FILE_MODE = 0o600


class LocalBackend:
    """Blobs in ``root`` (created, owner-only, on the first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.location = str(self.root)

    @classmethod
    def from_url(cls, url: str) -> Self:
        """``file:///absolute/path`` (``file://localhost/...`` is accepted too)."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise UsageError(
                url,
                "a file URL names a local folder and takes no host, query or fragment",
                "write it as file:///absolute/path/to/blobs",
            )
        path = unquote(parts.path)
        if not path:
            raise UsageError(url, "names no folder", "write it as file:///absolute/path/to/blobs")
        return cls(path)

    def open_writer(self, key: str) -> LocalWriter:
        final = self._path(key)
        try:
            new_folders = _make_folders(final.parent)
            return LocalWriter(key, final, new_folders)
        except (PermissionError, NotADirectoryError, FileExistsError) as exc:
            raise UsageError(
                self.location,
                f"cannot write a blob here ({exc.strerror})",
                "point the blob store at a folder this user may create and write",
            ) from None

    def open_reader(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            raise BlobNotFoundError(self.location, key) from None
        except OSError as exc:
            raise UsageError(
                str(path),
                f"cannot be opened ({exc.strerror})",
                "a blob folder holds only regular files written by mlwarden; check its permissions",
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(
                str(path),
                "is not a regular file",
                "a blob folder holds only regular files written by mlwarden; remove the intruder",
            )
        return os.fdopen(fd, "rb")

    def exists(self, key: str) -> bool:
        try:
            return stat.S_ISREG(os.lstat(self._path(key)).st_mode)
        except FileNotFoundError:
            return False

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_folder(path.parent)

    def size(self, key: str) -> int:
        try:
            info = os.lstat(self._path(key))
        except FileNotFoundError:
            raise BlobNotFoundError(self.location, key) from None
        if not stat.S_ISREG(info.st_mode):
            raise BlobNotFoundError(self.location, key)
        return info.st_size

    def modified_at(self, key: str) -> datetime:
        """When the blob was committed (its file's modification time)."""
        try:
            info = os.lstat(self._path(key))
        except FileNotFoundError:
            raise BlobNotFoundError(self.location, key) from None
        return datetime.fromtimestamp(info.st_mtime, UTC)

    def iter_keys(self) -> Iterator[str]:
        for folder, names in self._leaf_folders():
            for name in names:
                if (
                    is_valid_key(name)
                    and name[:2] == folder.parent.name
                    and name[2:4] == folder.name
                    and _is_regular(folder / name)
                ):
                    yield name

    def sweep_orphans(self, older_than: timedelta = DEFAULT_ORPHAN_AGE) -> int:
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for folder, names in self._leaf_folders():
            for name in names:
                if _PARTIAL.fullmatch(name) and _remove_if_abandoned(folder / name, cutoff):
                    removed += 1
        return removed

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _leaf_folders(self) -> Iterator[tuple[Path, list[str]]]:
        """Each ``ab/cd`` folder in ascending order with its sorted entry names."""
        for first in _sorted_fanout(self.root):
            for second in _sorted_fanout(first):
                try:
                    names = sorted(os.listdir(second))
                except (FileNotFoundError, NotADirectoryError):
                    continue  # removed while we walked
                yield second, names


class LocalWriter(WriterBase):
    """A write to a temp file beside the final name; see :class:`~.interface.BlobWriter`."""

    def __init__(self, key: str, final: Path, new_folders: list[Path]) -> None:
        super().__init__(key)
        self._final = final
        self._new_folders = new_folders
        self._temp = final.with_name(f".{key}.{secrets.token_hex(8)}.partial")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        fd = os.open(self._temp, flags, _FILE_MODE)
        if sys.platform != "win32":
            # Held until the temp name is gone, so a sweep never removes a live write.
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._file = os.fdopen(fd, "wb")

    def _write(self, data: Bytes) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        os.replace(self._temp, self._final)
        _fsync_folder(self._final.parent)
        # Folders created for this blob must themselves be durable entries of their parents.
        for folder in self._new_folders:
            _fsync_folder(folder.parent)
        self._file.close()

    def _abort(self) -> None:
        with suppress(OSError):
            self._temp.unlink()
        self._file.close()


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents (owner-only); returns those created, deepest last."""
    missing: list[Path] = []
    current = folder
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=_FOLDER_MODE)
        except FileExistsError:
            continue  # another writer made it first
        created.append(path)
    return created


def _fsync_folder(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder for fsync; NTFS journals the rename itself
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sorted_fanout(folder: Path) -> list[Path]:
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / name for name in sorted(names) if _FANOUT.fullmatch(name)]


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _remove_if_abandoned(path: Path, cutoff: float) -> bool:
    """Unlink a temp file older than ``cutoff`` whose writer no longer holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return False  # committed or aborted meanwhile, or not ours to touch
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
            return False
        if sys.platform != "win32":
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a live writer
        try:
            path.unlink()
        except FileNotFoundError:
            return False  # its writer committed or aborted between our open and now
        return True
    finally:
        os.close(fd)
