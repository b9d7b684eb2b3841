"""Owner-only files written atomically: how key material reaches the disk.

A reader sees the old file or the new one, never half of either: data goes to a temporary
file in the same folder (mode 0600 from the start, so no window where it is readable), is
fsynced, then renamed into place, and the folder is fsynced so the rename survives a crash.
POSIX only (``fcntl`` locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from mlwarden.errors import UsageError
from mlwarden.store.atomic_file import write_atomically

PRIVATE_MODE = 0o600


def read_private(path: Path, *, max_bytes: int, what: str) -> bytes:
    """Read a whole owner-only file of at most ``max_bytes``.

    Raises :class:`UsageError` when it is missing, not a regular file, readable by group or
    others, or larger than ``max_bytes`` (``what`` names the file's role in messages).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise UsageError(
            str(path), f"no {what} here", f"check the path, or create the {what} first"
        ) from None
    except OSError as exc:
        raise UsageError(
            str(path), f"cannot open the {what}: {exc.strerror}", "check the path"
        ) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(str(path), f"the {what} is not a regular file", "check the path")
        if info.st_mode & 0o077:
            raise UsageError(
                str(path),
                f"the {what} is readable or writable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o})",
                f"run `chmod 600 {path}`",
            )
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UsageError(
            str(path),
            f"is larger than {max_bytes} bytes, so it is not an mlwarden {what}",
            "check the path, or restore the file from a backup",
        )
    return data


def write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600.

    With ``replace`` False the write fails with :class:`UsageError` if ``path`` already
    exists (checked atomically: the file is hard-linked into place, never overwritten).
    """
    write_atomically(path, data, mode=PRIVATE_MODE, overwrite=replace)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` + ``.lock`` (created 0600) for the block.

    Serialises read-modify-write cycles between processes; the lock file holds nothing.
    """
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
