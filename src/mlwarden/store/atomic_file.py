"""Whole-or-nothing file writes for keyrings, keys, bundles and envelopes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mlwarden.errors import UsageError


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never part.

    The bytes go to a temporary file in the same folder (created with ``mode`` from the
    start, so a private key is never briefly world-readable), are flushed to disk, then
    renamed over ``path``. With ``overwrite=False`` an existing ``path`` is left alone and
    :class:`UsageError` is raised, also when another process creates it meanwhile.
    """
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(str(path), "its folder does not exist", "create the folder first")
    if path.is_dir():
        raise UsageError(str(path), "is a folder", "give a file path")
    if not overwrite and (path.exists() or path.is_symlink()):
        raise UsageError(
            str(path), "already exists", "choose another path or remove the old file first"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the name exists, so a file created since the check survives.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise UsageError(
                    str(path), "already exists", "choose another path or remove the old file first"
                ) from None
            tmp.unlink()
        _fsync_directory(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the folder entry is; some filesystems refuse this.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
