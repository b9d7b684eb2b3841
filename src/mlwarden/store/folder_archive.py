"""Folders as single artifacts: a deterministic tar stream in, a safe extraction out.

The same folder always packs to the same bytes (sorted names, zeroed times and owners,
normalised modes), so its content digest is stable and a re-put deduplicates. Symbolic
links, devices and other special files are refused rather than followed: a link could
pull a file from outside the folder into the store, or point outside it on extraction.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mlwarden.errors import UsageError

MAX_MEMBERS = 1_000_000
"""Upper bound on entries in one folder artifact (extraction refuses more)."""


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """Every directory and regular file under ``root`` as (path, archive name), sorted."""
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            if entry.is_symlink():
                raise UsageError(
                    str(path),
                    "is a symbolic link; folder artifacts hold only regular files",
                    "replace the link by the file it points to, or remove it",
                )
            if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False):
                yield path, rel
            else:
                raise UsageError(
                    str(path),
                    "is a special file (device, socket or pipe)",
                    "remove it from the folder before storing it",
                )
        # Depth-first in name order: push subfolders reversed so they pop in order.
        subdirs = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        stack.extend(reversed(subdirs))


def _normalised(info: tarfile.TarInfo, executable: bool) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isdir():
        info.mode = 0o755
    else:
        info.mode = 0o755 if executable else 0o644
    return info


def pack_folder(root: Path, dst: BinaryIO) -> int:
    """Write ``root`` as a deterministic tar stream to ``dst``; return the number of entries."""
    count = 0
    with tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path, name in _walk(root):
            st = path.lstat()
            info = tarfile.TarInfo(name)
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                tar.addfile(_normalised(info, False))
            else:
                info.size = st.st_size
                with path.open("rb") as fh:
                    tar.addfile(_normalised(info, bool(st.st_mode & 0o111)), fh)
            count += 1
    return count


class FolderReader(io.RawIOBase):
    """A readable stream of ``pack_folder(root)``, produced by a thread through a pipe.

    Lets the encryptor read a folder like a file, with memory bounded by the pipe buffer.
    Errors in the packing thread are raised from :meth:`close` (and from ``read`` at EOF).
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        read_fd, write_fd = os.pipe()
        self._pipe = os.fdopen(read_fd, "rb", buffering=0)
        self._error: BaseException | None = None

        def produce() -> None:
            try:
                with os.fdopen(write_fd, "wb") as out:
                    pack_folder(root, out)
            except BaseException as exc:  # re-raised in the reading thread
                self._error = exc

        self._thread = threading.Thread(target=produce, name="pack-folder", daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._pipe.readinto(buffer)
        if not n:
            self._thread.join()
            if self._error is not None:
                raise self._error
        return n or 0

    def close(self) -> None:
        if not self.closed:
            self._pipe.close()
            self._thread.join()
        super().close()


def unpack_folder(src: BinaryIO, dest: Path) -> int:
    """Extract a folder artifact from a tar stream into a new folder ``dest``.

    Extraction goes to a temporary sibling folder that is renamed into place only when
    the whole stream was read, so ``dest`` never holds half a folder. Names that escape
    the folder, links and special files are refused (the tar "data" filter).
    """
    if dest.exists():
        raise UsageError(str(dest), "already exists", "choose a new output folder or remove it")
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=parent))
    try:
        count = 0
        with tarfile.open(fileobj=src, mode="r|") as tar:
            for member in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise UsageError(
                        str(dest),
                        f"the folder artifact has more than {MAX_MEMBERS} entries",
                        "check the artifact; folder artifacts this large are refused",
                    )
                if not (member.isfile() or member.isdir()):
                    raise UsageError(
                        member.name,
                        "is a link or special file inside a folder artifact",
                        "the artifact was not made by mlwarden; do not trust it",
                    )
                try:
                    tar.extract(member, tmp, filter="data")
                except tarfile.FilterError as exc:
                    raise UsageError(
                        member.name,
                        f"refused while extracting: {exc}",
                        "the artifact was not made by mlwarden; do not trust it",
                    ) from None
        os.replace(tmp, dest)
        return count
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
