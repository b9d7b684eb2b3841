"""Bounded file reading and unambiguous JSON parsing for keys and signed documents.

A signed document must mean one thing to every reader, so duplicate keys (which parsers
resolve differently), ``NaN``/``Infinity`` and non-UTF-8 text are refused rather than
guessed at: every such failure is a :class:`SignatureError` with ``MALFORMED``. Files are
read whole only below a size limit, and only when they are regular files.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from mlwarden.errors import UsageError
from mlwarden.store.signing.errors import SignatureError, SignatureFailure


class FileTooLarge(UsageError):
    """A file above the size limit for its kind."""


class _Rejected(ValueError):
    """A JSON construct that is valid syntax but ambiguous for signed data."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not a JSON number")


def parse_json_object(data: bytes, subject: str, what: str) -> dict[str, Any]:
    """Parse ``data`` as one JSON object; ``what`` names the document in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(subject, f"the {what} is not UTF-8 text ({exc.reason})") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _Rejected as exc:
        raise _malformed(subject, f"the {what} is ambiguous JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _malformed(
            subject, f"the {what} is not valid JSON ({exc.msg} at offset {exc.pos})"
        ) from None
    except RecursionError:
        raise _malformed(subject, f"the {what} nests too deeply") from None
    if not isinstance(value, dict):
        raise _malformed(subject, f"the {what} is a JSON {type(value).__name__}, not an object")
    return value


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """Read a whole regular file of at most ``limit`` bytes; anything else is refused.

    A missing, unreadable or non-regular path (a folder, a FIFO that would block) is a
    :class:`UsageError`; a file above ``limit`` is :class:`FileTooLarge` (one too).
    """
    try:
        # O_NONBLOCK: opening a FIFO must not hang waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(str(path), f"the {what} does not exist", "check the path") from None
    except IsADirectoryError:
        raise UsageError(str(path), f"the {what} path is a folder", "give a file") from None
    except PermissionError:
        raise UsageError(
            str(path), f"the {what} cannot be read (permission denied)", "fix its permissions"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UsageError(str(path), f"the {what} is not a regular file", "give a file")
        if status.st_size > limit:
            raise FileTooLarge(str(path), f"the {what} is larger than {limit} bytes", _FIX_SIZE)
        # Read one byte past the limit: the file may grow after fstat.
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(str(path), f"the {what} is larger than {limit} bytes", _FIX_SIZE)
    return data


def read_signed_document(path: Path, limit: int, what: str) -> bytes:
    """Like :func:`read_bounded`, but an oversized file is a ``MALFORMED`` SignatureError."""
    try:
        return read_bounded(path, limit, what)
    except FileTooLarge:
        raise _too_large(str(path), what, limit) from None


def check_size(data: bytes, limit: int, subject: str, what: str) -> None:
    """Refuse in-memory documents above ``limit`` bytes before parsing them."""
    if len(data) > limit:
        raise _too_large(subject, what, limit)


_FIX_SIZE = "check that this is the right file; genuine ones are far smaller"


def _too_large(subject: str, what: str, limit: int) -> SignatureError:
    return SignatureError(
        subject,
        f"the {what} is larger than {limit} bytes, the most mlwarden reads",
        _FIX_SIZE,
        failure=SignatureFailure.MALFORMED,
    )


def _malformed(subject: str, problem: str) -> SignatureError:
    return SignatureError(
        subject,
        problem,
        "regenerate it with the signer, or check that the right file was given",
        failure=SignatureFailure.MALFORMED,
    )
