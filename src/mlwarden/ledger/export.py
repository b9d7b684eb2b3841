"""Ledger exports: the whole log as JSON lines, verifiable without the database.

The file holds, one JSON object per line:

- ``{"type": "header", "format": "mlwarden.ledger-export/v1", "origin": ...}`` first;
- ``{"type": "entry", "seq": n, "leaf_hash": hex, "body": text}`` per entry, in seq order,
  with the stored body verbatim (``body_b64`` instead of ``body`` when it is not UTF-8);
- ``{"type": "checkpoint", "tree_size": n, "note": text}`` right before entry ``n``;
- ``{"type": "end", "entries": n, "checkpoints": c}`` last, so a cut-short file shows.

Entries are written exactly as stored, tampered or not: judging them is the auditor's job
(:func:`verify_export`), which trusts only the auditor's public key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mlwarden.errors import UsageError
from mlwarden.ledger.audit import LedgerAuditor, LedgerProblem, ProblemKind, VerifyReport
from mlwarden.ledger.checkpoint import MAX_NOTE_BYTES, LedgerVerifier
from mlwarden.ledger.entry import MAX_BODY_BYTES

EXPORT_FORMAT = "mlwarden.ledger-export/v1"
"""The ``format`` value of an export's header line."""

MAX_LINE_BYTES = 3 * MAX_BODY_BYTES + MAX_NOTE_BYTES
"""Longest line read from an export (a maximal body escaped as a JSON string fits)."""

_HEX_HASH = re.compile(r"[0-9a-f]{64}")


def _line(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def _entry_line(seq: int, body: bytes, recorded: bytes) -> bytes:
    document: dict[str, Any] = {"type": "entry", "seq": seq, "leaf_hash": recorded.hex()}
    try:
        document["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        document["body_b64"] = base64.b64encode(body).decode("ascii")
    return _line(document)


def write_export(path: Path, origin: str, records: Iterator[tuple[str, int, bytes, bytes]]) -> int:
    """Write an export of ``records`` atomically to ``path``; returns the entries written.

    ``records`` yields ``("entry", seq, body, leaf_hash)`` and
    ``("checkpoint", tree_size, root_hash, note_utf8)`` in the order they go in the file.
    """
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(str(path), "its folder does not exist", "create the folder first")
    if path.is_dir():
        raise UsageError(str(path), "is a folder", "give a file path for the export")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    entries = checkpoints = 0
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            out.write(_line({"type": "header", "format": EXPORT_FORMAT, "origin": origin}))
            for kind, number, data, extra in records:
                if kind == "entry":
                    out.write(_entry_line(number, data, extra))
                    entries += 1
                else:
                    note = extra.decode("utf-8")
                    out.write(_line({"type": "checkpoint", "tree_size": number, "note": note}))
                    checkpoints += 1
            out.write(_line({"type": "end", "entries": entries, "checkpoints": checkpoints}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    # The rename is durable only once the folder itself reaches the disk.
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return entries


def _read_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines; an over-long line is skipped and given as None."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            while line and not line.endswith(b"\n"):
                line = handle.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        yield number, line


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


class _ExportReader:
    """Feeds one export file's lines to an auditor, reporting unreadable lines."""

    def __init__(self, path: Path, auditor: LedgerAuditor) -> None:
        self._path = path
        self._auditor = auditor
        self.entries = 0
        self.checkpoints = 0
        self.end: dict[str, Any] | None = None
        self.end_line = 0

    def bad_line(self, number: int, why: str) -> None:
        self._auditor.report_problem(
            LedgerProblem(ProblemKind.MALFORMED_EXPORT, f"line {number} of {self._path} {why}.")
        )

    def feed(self, number: int, document: dict[str, Any]) -> None:
        kind = document.get("type")
        if self.end is not None:
            self.bad_line(number, "comes after the end line")
        elif kind == "entry":
            self._entry(number, document)
        elif kind == "checkpoint":
            note, size = document.get("note"), document.get("tree_size")
            if not isinstance(note, str) or (size is not None and type(size) is not int):
                self.bad_line(number, "is a checkpoint line without a note")
                return
            self.checkpoints += 1
            self._auditor.add_checkpoint(note, recorded_size=size)
        elif kind == "end":
            self.end = document
            self.end_line = number
        else:
            self.bad_line(number, "is not an entry, checkpoint or end line")

    def _entry(self, number: int, document: dict[str, Any]) -> None:
        seq, recorded = document.get("seq"), document.get("leaf_hash")
        if type(seq) is not int or seq < 0 or not isinstance(recorded, str):
            self.bad_line(number, "is an entry line without a valid seq and leaf hash")
            return
        if not _HEX_HASH.fullmatch(recorded):
            self.bad_line(number, f"has a leaf hash for entry {seq} that is not 64 hex digits")
            return
        text, encoded = document.get("body"), document.get("body_b64")
        try:
            if isinstance(text, str) and encoded is None:
                body = text.encode("utf-8")
            elif isinstance(encoded, str) and text is None:
                body = base64.b64decode(encoded, validate=True)
            else:
                raise ValueError("no body")
        except (ValueError, UnicodeEncodeError, binascii.Error):
            self.bad_line(number, f"has no readable body for entry {seq}")
            return
        self.entries += 1
        self._auditor.add_entry(seq, body, bytes.fromhex(recorded))


def verify_export(
    path: Path, verifier: LedgerVerifier, *, origin: str | None = None
) -> VerifyReport:
    """Verify an export file as :meth:`Ledger.verify <mlwarden.ledger.log.Ledger.verify>`
    verifies the database: from the bodies, the signed checkpoints and ``verifier`` alone.

    ``origin`` is the log the auditor expects; without it the header's origin is used
    (checkpoints must still be signed by ``verifier`` for that origin). Raises
    :class:`UsageError` when the file cannot be opened or is not a ledger export at all;
    damage inside it is reported as problems in the returned report.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(str(path), f"cannot be read ({exc.strerror})", "check the path") from None
    with handle:
        lines = _read_lines(handle)
        first = next(lines, None)
        header = _parse(first[1]) if first is not None and first[1] is not None else None
        if (
            header is None
            or header.get("type") != "header"
            or header.get("format") != EXPORT_FORMAT
            or not isinstance(header.get("origin"), str)
        ):
            raise UsageError(
                str(path),
                f"is not a ledger export (its first line is not a {EXPORT_FORMAT} header)",
                "pass a file written by Ledger.export",
            )
        if origin is not None and header["origin"] != origin:
            raise UsageError(
                str(path),
                f"is an export of the log {header['origin']!r}, not {origin!r}",
                "verify it against the origin it was exported from",
            )
        auditor = LedgerAuditor(verifier, header["origin"])
        reader = _ExportReader(path, auditor)
        number = 1
        for number, line in lines:
            if line is None:
                reader.bad_line(number, f"is longer than {MAX_LINE_BYTES} bytes")
                continue
            document = _parse(line)
            if document is None:
                reader.bad_line(number, "is not a JSON object")
                continue
            reader.feed(number, document)
    if reader.end is None:
        reader.bad_line(number + 1, "should be the end line: the export was cut short")
    elif (reader.end.get("entries"), reader.end.get("checkpoints")) != (
        reader.entries,
        reader.checkpoints,
    ):
        reader.bad_line(
            reader.end_line,
            f"(the end line) counts {reader.end.get('entries')!r} entries and "
            f"{reader.end.get('checkpoints')!r} checkpoints, but the file holds "
            f"{reader.entries} and {reader.checkpoints}: lines were removed or added",
        )
    return auditor.finish()
