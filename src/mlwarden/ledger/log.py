"""The ledger: an append-only, Merkle-hashed, checkpoint-signed log in the catalog database.

Rows live in the catalog tables ``ledger_entries``, ``ledger_checkpoints`` and
``ledger_frontier`` (:mod:`mlwarden.store.catalog.schema`). Writers serialise on the single
head row: on PostgreSQL with ``SELECT ... FOR UPDATE``; on SQLite the transaction begins
with ``BEGIN IMMEDIATE`` (:func:`~mlwarden.store.catalog.db.write_transaction`) and, for
engines not made by ``open_database``, its first statement is a write, which takes the
writer lock before anything is read all the same. So seqs are dense and never handed out
twice, across threads and processes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from mlwarden.errors import UsageError
from mlwarden.ledger.audit import LedgerAuditor, LedgerProblem, ProblemKind, VerifyReport
from mlwarden.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    LedgerSigner,
    LedgerVerifier,
    check_origin,
    sign_checkpoint,
    verify_checkpoint,
)
from mlwarden.ledger.entry import LedgerEntry, MalformedEntry, StoredEntry, decode_body, encode_body
from mlwarden.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProver,
    MerkleFrontier,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    subtree_root,
    verify_consistency,
)
from mlwarden.store.catalog.db import write_transaction
from mlwarden.store.catalog.schema import LedgerCheckpointRow, LedgerEntryRow, LedgerFrontierRow

PAGE_ROWS = 5_000
"""Rows read per query when streaming entries (keyset pages keep memory flat)."""

INSERT_ROWS = 1_000
"""Rows per INSERT statement inside one append transaction."""

BLOCK_LEVEL = 10
BLOCK_LEAVES = 1 << BLOCK_LEVEL
"""Leaves per cached block root (proof generation)."""

MAX_CACHED_BLOCKS = 1 << 16
"""Block roots kept per :class:`Ledger` (2 MB of hashes; covers 67 million entries)."""

_ENTRIES: Table = LedgerEntryRow.__table__  # type: ignore[assignment]
_CHECKPOINTS: Table = LedgerCheckpointRow.__table__  # type: ignore[assignment]
_HEAD: Table = LedgerFrontierRow.__table__  # type: ignore[assignment]
_HEAD_ID = 1
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Snapshot:
    """Limits read in one statement, so a streaming reader sees one state of the log."""

    entry_limit: int
    """Entries with ``seq`` below this are read."""
    checkpoint_limit: int
    """Checkpoints with ``tree_size`` up to this are read (-1: none)."""
    head_size: int | None
    head_edge: bytes | None


def _retryable(exc: DBAPIError) -> bool:
    """A lock timeout or serialisation failure: the transaction can simply run again."""
    if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01"):
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


class Ledger:
    """An append-only audit log with RFC 6962 proofs and Ed25519-signed checkpoints.

    ``engine`` is a SQLAlchemy 2 engine on SQLite or PostgreSQL whose catalog tables exist;
    ``origin`` names this log in its checkpoints (a schema-less URL such as
    ``mlwarden.example/ledger``) and must stay the same for the log's lifetime. The ledger
    keeps no global state; several instances, threads and processes may share a database.
    """

    def __init__(self, engine: Engine, origin: str, *, retries: int = 8) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise UsageError(
                f"database {engine.url.render_as_string(hide_password=True)}",
                f"the ledger does not support the {engine.dialect.name} dialect",
                "use SQLite or PostgreSQL",
            )
        try:
            check_origin(origin)
        except ValueError as exc:
            raise UsageError(
                "ledger origin", str(exc), "pick a name such as 'example.com/ledger'"
            ) from None
        self._engine = engine
        self._origin = origin
        self._retries = max(1, retries)
        self._blocks: dict[int, bytes] = {}

    @property
    def origin(self) -> str:
        return self._origin

    # -- writing ----------------------------------------------------------------------

    def _locked(self, work: Callable[[Connection, MerkleFrontier], _T]) -> _T:
        """Run ``work`` in a transaction that holds the head lock, retrying lock timeouts."""
        for attempt in range(self._retries):
            try:
                with write_transaction(self._engine) as conn:
                    return work(conn, self._lock_head(conn))
            except DBAPIError as exc:
                if isinstance(exc, IntegrityError) or not _retryable(exc):
                    raise
                if attempt == self._retries - 1:
                    raise UsageError(
                        f"ledger {self._origin!r}",
                        "the database stayed locked by other writers",
                        "retry later, or raise the SQLite busy timeout",
                    ) from exc
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock_head(self, conn: Connection) -> MerkleFrontier:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # The first statement writes, so SQLite takes its writer lock before reading the
        # head; on PostgreSQL the head row exists afterwards and FOR UPDATE locks it.
        conn.execute(
            dialect.insert(_HEAD)
            .values(id=_HEAD_ID, tree_size=0, edge=b"")
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = conn.execute(
            select(_HEAD.c.tree_size, _HEAD.c.edge).where(_HEAD.c.id == _HEAD_ID).with_for_update()
        ).one()
        try:
            return MerkleFrontier.from_bytes(row.tree_size, _stored_bytes(row.edge))
        except ValueError as exc:
            raise self._corrupt(f"its head row is damaged ({exc})") from None

    def _corrupt(self, problem: str) -> UsageError:
        return UsageError(
            f"ledger {self._origin!r}",
            problem,
            "run Ledger.verify to locate the damage; nothing was written",
        )

    def append(self, entry: LedgerEntry) -> int:
        """Append one entry; returns its seq."""
        return self.append_many([entry]).start

    def append_many(self, entries: Iterable[LedgerEntry]) -> range:
        """Append entries in order in ONE transaction (all or nothing); returns their seqs.

        The batch is held in memory for a possible retry, so pass thousands, not millions,
        per call.
        """
        batch = self._checked(entries)
        try:
            return self._locked(lambda conn, frontier: self._write(conn, frontier, batch))
        except IntegrityError as exc:
            raise self._corrupt("entries exist beyond its head") from exc

    def append_in(self, conn: Connection, entries: Iterable[LedgerEntry]) -> range:
        """Append entries inside the caller's open write transaction (see
        :func:`~mlwarden.store.catalog.db.write_transaction`), so that a state change and
        its ledger entry commit together or not at all. No retry: the caller owns the
        transaction."""
        batch = self._checked(entries)
        return self._write(conn, self._lock_head(conn), batch)

    @staticmethod
    def _checked(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
        batch = list(entries)
        for entry in batch:
            if not isinstance(entry, LedgerEntry):
                raise UsageError(
                    "ledger entry", f"got a {type(entry).__name__}", "pass LedgerEntry objects"
                )
        return batch

    def _write(self, conn: Connection, frontier: MerkleFrontier, batch: list[LedgerEntry]) -> range:
        start = frontier.size
        prev: bytes | None = None
        if start and batch:
            prev = conn.execute(
                select(_ENTRIES.c.leaf_hash).where(_ENTRIES.c.seq == start - 1)
            ).scalar_one_or_none()
            if prev is None:
                raise self._corrupt(
                    f"its head counts {start} entries but entry {start - 1} is missing"
                )
            prev = bytes(prev)
        rows: list[dict[str, object]] = []
        for offset, entry in enumerate(batch):
            seq = start + offset
            try:
                body = encode_body(entry, seq, prev)
            except ValueError as exc:
                raise UsageError(
                    f"ledger entry {offset} of the batch", str(exc), "shorten its details"
                ) from None
            prev = leaf_hash(body)
            frontier.append(prev)
            rows.append({"seq": seq, "body": body, "leaf_hash": prev})
            if len(rows) >= INSERT_ROWS:
                conn.execute(insert(_ENTRIES), rows)
                rows = []
        if rows:
            conn.execute(insert(_ENTRIES), rows)
        conn.execute(
            update(_HEAD)
            .where(_HEAD.c.id == _HEAD_ID)
            .values(tree_size=frontier.size, edge=frontier.to_bytes())
        )
        return range(start, frontier.size)

    def checkpoint(
        self, signer: LedgerSigner, *, previous_key: LedgerVerifier | None = None
    ) -> Checkpoint:
        """Sign the current head, store the checkpoint and return it.

        Before signing, the head is proved (RFC 9162) to extend the latest stored checkpoint,
        from the entries appended since, so the key never signs a rewritten history. That
        checkpoint must verify with ``signer``'s key, or with ``previous_key`` after a key
        rotation; otherwise :class:`UsageError` is raised and nothing is signed. Signing an
        unchanged head again returns the stored checkpoint.
        """

        def work(conn: Connection, frontier: MerkleFrontier) -> Checkpoint:
            size, root_hash = frontier.size, frontier.root()
            latest = conn.execute(
                select(_CHECKPOINTS.c.tree_size, _CHECKPOINTS.c.signed_note, _CHECKPOINTS.c.edge)
                .order_by(_CHECKPOINTS.c.tree_size.desc())
                .limit(1)
            ).one_or_none()
            if latest is not None:
                previous = self._trusted_checkpoint(latest.signed_note, signer, previous_key)
                if previous.tree_size == size:
                    if previous.root_hash != root_hash:
                        raise self._corrupt(
                            f"the stored checkpoint for {size} entries does not match the head"
                        )
                    return previous
                self._check_extends(conn, previous, bytes(latest.edge), frontier)
            checkpoint = sign_checkpoint(signer, self._origin, size, root_hash)
            conn.execute(
                insert(_CHECKPOINTS).values(
                    tree_size=size,
                    root_hash=root_hash,
                    signed_note=checkpoint.note,
                    edge=frontier.to_bytes(),
                    created_at=datetime.now(UTC),
                )
            )
            return checkpoint

        return self._locked(work)

    def _trusted_checkpoint(
        self, note: str, signer: LedgerSigner, previous_key: LedgerVerifier | None
    ) -> Checkpoint:
        keys = [signer.verifier()] + ([previous_key] if previous_key is not None else [])
        for key in keys:
            try:
                return verify_checkpoint(note, key, origin=self._origin)
            except CheckpointError:
                continue
        raise UsageError(
            f"ledger {self._origin!r}",
            f"the latest stored checkpoint is not validly signed by {signer.name!r}"
            + (f" or {previous_key.name!r}" if previous_key is not None else ""),
            "run Ledger.verify; after a key rotation pass the old key as previous_key",
        )

    def _check_extends(
        self, conn: Connection, previous: Checkpoint, edge: bytes, head: MerkleFrontier
    ) -> None:
        try:
            old = MerkleFrontier.from_bytes(previous.tree_size, edge)
        except ValueError:
            old = None
        if old is None or old.root() != previous.root_hash or previous.tree_size > head.size:
            raise self._corrupt(
                f"the stored checkpoint for {previous.tree_size} entries does not fit the head"
            )
        prover = ConsistencyProver(old)
        prover.extend(self._leaf_hashes(conn, previous.tree_size, head.size))
        if prover.size != head.size or not verify_consistency(
            old.size, head.size, prover.proof(), previous.root_hash, head.root()
        ):
            raise self._corrupt(
                f"the head does not extend the checkpoint signed for {previous.tree_size} "
                "entries; refusing to sign a rewritten history"
            )

    # -- reading ----------------------------------------------------------------------

    def head(self) -> Checkpoint:
        """The current tree head, unsigned (``note`` is empty)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_HEAD.c.tree_size, _HEAD.c.edge).where(_HEAD.c.id == _HEAD_ID)
            ).one_or_none()
        if row is None:
            return Checkpoint(self._origin, 0, MerkleFrontier().root())
        try:
            frontier = MerkleFrontier.from_bytes(row.tree_size, _stored_bytes(row.edge))
        except ValueError as exc:
            raise self._corrupt(f"its head row is damaged ({exc})") from None
        return Checkpoint(self._origin, frontier.size, frontier.root())

    def latest_checkpoint(self, verifier: LedgerVerifier) -> Checkpoint | None:
        """The stored checkpoint with the largest tree size, verified with ``verifier``.

        None when there is none; :class:`~mlwarden.ledger.checkpoint.CheckpointError` when it
        does not verify.
        """
        with self._engine.connect() as conn:
            note = conn.execute(
                select(_CHECKPOINTS.c.signed_note)
                .order_by(_CHECKPOINTS.c.tree_size.desc())
                .limit(1)
            ).scalar_one_or_none()
        if note is None:
            return None
        return verify_checkpoint(note, verifier, origin=self._origin)

    def _subtree_root(self, conn: Connection, start: int, stop: int) -> bytes:
        """Root of the stored leaves ``start`` .. ``stop - 1``.

        Aligned blocks of :data:`BLOCK_LEAVES` leaves are complete subtrees that never
        change in an append-only log, so their roots are kept after the first read: a proof
        over a large log then reads at most two partial blocks per proof node.
        """
        frontier = MerkleFrontier()
        position = start
        while position < stop:
            block, offset = divmod(position, BLOCK_LEAVES)
            if (
                offset == 0
                and (position - start) % BLOCK_LEAVES == 0
                and (position + BLOCK_LEAVES <= stop)
            ):
                value = self._blocks.get(block)
                if value is None:
                    try:
                        value = subtree_root(
                            lambda a, b: self._leaf_hashes(conn, a, b),
                            position,
                            position + BLOCK_LEAVES,
                        )
                    except ValueError:
                        raise self._corrupt(f"entries of block {block} are missing") from None
                    if len(self._blocks) < MAX_CACHED_BLOCKS:
                        self._blocks[block] = value
                frontier.append_subtree(value, BLOCK_LEVEL)
                position += BLOCK_LEAVES
            else:
                end = min(stop, (block + 1) * BLOCK_LEAVES)
                frontier.extend(self._leaf_hashes(conn, position, end))
                position = end
        if frontier.size != stop - start:
            raise self._corrupt(f"entries between {start} and {stop - 1} are missing")
        return frontier.root()

    def _leaf_hashes(self, conn: Connection, start: int, stop: int) -> Iterator[bytes]:
        """Stored leaf hashes of seqs ``start`` .. ``stop - 1``, streamed in keyset pages."""
        while start < stop:
            rows = conn.execute(
                select(_ENTRIES.c.seq, _ENTRIES.c.leaf_hash)
                .where(_ENTRIES.c.seq >= start, _ENTRIES.c.seq < stop)
                .order_by(_ENTRIES.c.seq)
                .limit(PAGE_ROWS * 4)
            ).all()
            if not rows:
                return
            for row in rows:
                if row.seq != start:
                    raise self._corrupt(f"entry {start} is missing")
                yield _stored_bytes(row.leaf_hash)
                start += 1

    def _size(self, conn: Connection) -> int:
        size = conn.execute(
            select(_HEAD.c.tree_size).where(_HEAD.c.id == _HEAD_ID)
        ).scalar_one_or_none()
        return int(size or 0)

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries.

        ``tree_size`` defaults to the current size; check the proof with
        :func:`~mlwarden.ledger.merkle.verify_inclusion` against a signed checkpoint's root.
        """
        with self._engine.connect() as conn:
            current = self._size(conn)
            size = current if tree_size is None else tree_size
            if not 0 <= seq < size <= current:
                raise UsageError(
                    f"ledger {self._origin!r}",
                    f"entry {seq} is not in a tree of {size} entries (the log has {current})",
                    "ask for a seq below the tree size, and a size no larger than the log",
                )
            return [self._subtree_root(conn, a, b) for a, b in inclusion_ranges(seq, size)]

    def root_at(self, tree_size: int) -> bytes:
        """The Merkle root of the first ``tree_size`` entries (from stored leaf hashes)."""
        with self._engine.connect() as conn:
            current = self._size(conn)
            if not 0 <= tree_size <= current:
                raise UsageError(
                    f"ledger {self._origin!r}",
                    f"has {current} entries, not {tree_size}",
                    "ask for a size no larger than the log",
                )
            if tree_size == 0:
                return EMPTY_ROOT
            return self._subtree_root(conn, 0, tree_size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The RFC 9162 proof that the tree of ``old_size`` entries is a prefix of ``new_size``."""
        with self._engine.connect() as conn:
            current = self._size(conn)
            size = current if new_size is None else new_size
            if not 0 <= old_size <= size <= current:
                raise UsageError(
                    f"ledger {self._origin!r}",
                    f"no consistency proof from {old_size} to {size} entries "
                    f"(the log has {current})",
                    "ask for old_size <= new_size <= the log's size",
                )
            ranges = consistency_ranges(old_size, size)
            return [self._subtree_root(conn, a, b) for a, b in ranges]

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        """Stored entries with ``start <= seq < stop``, in order, streamed.

        Bodies are parsed but not checked against the tree: use :meth:`verify` for that.
        Raises :class:`UsageError` on a body the ledger could not have written.
        """
        while stop is None or start < stop:
            query = select(_ENTRIES.c.seq, _ENTRIES.c.body, _ENTRIES.c.leaf_hash).where(
                _ENTRIES.c.seq >= start
            )
            if stop is not None:
                query = query.where(_ENTRIES.c.seq < stop)
            with self._engine.connect() as conn:
                rows = conn.execute(query.order_by(_ENTRIES.c.seq).limit(PAGE_ROWS)).all()
            if not rows:
                return
            for row in rows:
                body = _stored_bytes(row.body)
                try:
                    _, prev, entry = decode_body(body)
                except MalformedEntry as exc:
                    raise UsageError(
                        f"ledger {self._origin!r} entry {row.seq}",
                        f"its body is malformed ({exc})",
                        "run Ledger.verify to see what was tampered with",
                    ) from None
                yield StoredEntry(row.seq, entry, prev, body, _stored_bytes(row.leaf_hash))
            start = rows[-1].seq + 1

    @staticmethod
    def _snapshot(conn: Connection) -> _Snapshot:
        # One statement, so the head, the entries and the checkpoints are read from the same
        # snapshot; rows written while a reader streams stay outside its limits.
        row = conn.execute(
            select(
                select(func.max(_ENTRIES.c.seq)).scalar_subquery(),
                select(func.max(_CHECKPOINTS.c.tree_size)).scalar_subquery(),
                select(_HEAD.c.tree_size).where(_HEAD.c.id == _HEAD_ID).scalar_subquery(),
                select(_HEAD.c.edge).where(_HEAD.c.id == _HEAD_ID).scalar_subquery(),
            )
        ).one()
        max_seq, max_checkpoint, head_size, head_edge = row
        entry_limit = max(0 if max_seq is None else int(max_seq) + 1, int(head_size or 0))
        return _Snapshot(
            entry_limit,
            -1 if max_checkpoint is None else int(max_checkpoint),
            None if head_size is None else int(head_size),
            None if head_edge is None else bytes(head_edge),
        )

    def _stream(
        self, conn: Connection, snapshot: _Snapshot
    ) -> Iterator[tuple[str, int, bytes, bytes]]:
        """Entries and checkpoints inside ``snapshot``, merged in the order an auditor needs:
        the checkpoint for n entries right before entry n."""
        limit, checkpoint_limit = snapshot.entry_limit, snapshot.checkpoint_limit
        entry_cursor, checkpoint_cursor = 0, -1
        checkpoints: list[tuple[int, bytes, str]] = []
        entries: list[tuple[int, bytes, bytes]] = []
        entries_done = checkpoints_done = False
        while True:
            if not entries and not entries_done:
                entries = [
                    (row.seq, _stored_bytes(row.body), _stored_bytes(row.leaf_hash))
                    for row in conn.execute(
                        select(_ENTRIES.c.seq, _ENTRIES.c.body, _ENTRIES.c.leaf_hash)
                        .where(_ENTRIES.c.seq >= entry_cursor, _ENTRIES.c.seq < limit)
                        .order_by(_ENTRIES.c.seq)
                        .limit(PAGE_ROWS)
                    )
                ]
                entries.reverse()
                entries_done = not entries
                if entries:
                    entry_cursor = entries[0][0] + 1
            if not checkpoints and not checkpoints_done:
                checkpoints = [
                    (row.tree_size, _stored_bytes(row.root_hash), row.signed_note)
                    for row in conn.execute(
                        select(
                            _CHECKPOINTS.c.tree_size,
                            _CHECKPOINTS.c.root_hash,
                            _CHECKPOINTS.c.signed_note,
                        )
                        .where(
                            _CHECKPOINTS.c.tree_size > checkpoint_cursor,
                            _CHECKPOINTS.c.tree_size <= checkpoint_limit,
                        )
                        .order_by(_CHECKPOINTS.c.tree_size)
                        .limit(PAGE_ROWS)
                    )
                ]
                checkpoints.reverse()
                checkpoints_done = not checkpoints
                if checkpoints:
                    checkpoint_cursor = checkpoints[0][0]
            if not entries and not checkpoints:
                return
            if checkpoints and (not entries or checkpoints[-1][0] <= entries[-1][0]):
                size, root_hash, note = checkpoints.pop()
                yield "checkpoint", size, root_hash, note.encode("utf-8")
            else:
                seq, body, recorded = entries.pop()
                yield "entry", seq, body, recorded

    def verify(self, verifier: LedgerVerifier, *, max_problems: int = 100) -> VerifyReport:
        """Check the whole log from its bodies, its signed checkpoints and ``verifier`` alone.

        Nothing stored is trusted: leaf hashes and roots are recomputed, seqs must be dense,
        every checkpoint must be signed by ``verifier`` and match the recomputed root, each
        must extend the one before, and the chain of ``prev`` hashes pins down an entry that
        was rewritten together with its leaf hash. Streams the log in O(log n) memory.
        """
        auditor = LedgerAuditor(verifier, self._origin, max_problems=max_problems)
        with self._engine.connect() as conn:
            snapshot = self._snapshot(conn)
            for kind, number, data, extra in self._stream(conn, snapshot):
                if kind == "checkpoint":
                    auditor.add_checkpoint(
                        extra.decode("utf-8"), recorded_size=number, recorded_root=data
                    )
                else:
                    auditor.add_entry(number, data, extra)
        head: MerkleFrontier | None = None
        if snapshot.head_size is not None:
            try:
                head = MerkleFrontier.from_bytes(snapshot.head_size, snapshot.head_edge or b"")
            except ValueError as exc:
                auditor.report_problem(
                    LedgerProblem(
                        ProblemKind.HEAD_MISMATCH,
                        f"the stored head is damaged ({exc}).",
                        tree_size=snapshot.head_size,
                    )
                )
        elif snapshot.entry_limit:
            head = MerkleFrontier()  # entries without a head row: the head was deleted
        return auditor.finish(head)

    def export(self, path: Path) -> int:
        """Write the log (entries and checkpoints, exactly as stored) to a JSON-lines file.

        The file is written to a temporary name and renamed into place, so ``path`` holds
        the old file or the whole export, never part of it. Returns the entries written.
        Check it with :func:`~mlwarden.ledger.export.verify_export`.
        """
        from mlwarden.ledger.export import write_export

        with self._engine.connect() as conn:
            return write_export(Path(path), self._origin, self._stream(conn, self._snapshot(conn)))


def _stored_bytes(value: object) -> bytes:
    """A binary column as bytes, whatever an editor of the database left in it.

    SQLite lets anyone store text (or a number) in a BLOB column; verification must report
    the mismatch that follows, not crash on the type.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return b"" if value is None else str(value).encode("utf-8")
