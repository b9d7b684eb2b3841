"""The catalog: which blobs exist and how to unwrap their keys, which named artifacts point at
them, how artifacts derive from each other, and how far a key rotation has come.

Every method is one transaction and returns frozen records (:mod:`.records`), never rows.
Caller-supplied strings are validated first (:mod:`.names`); a bad one, or a reference to
something that does not exist, raises :class:`~mlwarden.errors.UsageError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Table,
    func,
    insert,
    select,
    update,
)

from mlwarden.errors import UsageError
from mlwarden.store.catalog import names, rows
from mlwarden.store.catalog.db import (
    LOCK_ARTIFACT_VERSION,
    LOCK_REWRAP_JOB,
    advisory_lock,
    write_transaction,
)
from mlwarden.store.catalog.records import ArtifactRecord, BlobRecord, LineageEdge, RewrapJob
from mlwarden.store.catalog.schema import (
    ArtifactLabelRow,
    ArtifactRow,
    BlobRow,
    LineageRow,
    RewrapJobRow,
)

_BLOBS = cast(Table, BlobRow.__table__)
_ARTIFACTS = cast(Table, ArtifactRow.__table__)
_LABELS = cast(Table, ArtifactLabelRow.__table__)
_LINEAGE = cast(Table, LineageRow.__table__)
_REWRAP = cast(Table, RewrapJobRow.__table__)

DEFAULT_LINEAGE_DEPTH = 16
MAX_LINEAGE_DEPTH = 256
DEFAULT_MAX_EDGES = 10_000
MAX_BATCH = 10_000
MAX_WRAPPED_DEK = 64 * 1024
_LS_FIX = "`mlwarden store ls` lists them"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Catalog:
    """Queries and updates over a database opened by :func:`~.db.open_database`.

    ``clock`` supplies timestamps (timezone-aware UTC); tests may pass a fixed one.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @contextmanager
    def _writing(self, connection: Connection | None) -> Iterator[Connection]:
        """The caller's open transaction, or a new one of our own.

        Passing ``connection`` lets a caller make a catalog change and its ledger entry in
        one transaction (both happen or neither does).
        """
        if connection is not None:
            yield connection
            return
        with write_transaction(self._engine) as own:
            yield own

    # ------------------------------------------------------------------------------ blobs

    def add_blob(
        self,
        digest: str,
        *,
        size: int,
        stored_size: int,
        backend_key: str,
        blob_id: bytes,
        chunk_size: int,
        wrapped_dek: bytes,
        kek_provider: str,
        kek_id: str,
        kek_version: str,
    ) -> BlobRecord:
        """Record a stored blob; returns the catalog's record for ``digest``.

        If the digest is already catalogued (the same content stored before, perhaps by a
        concurrent writer) nothing changes and the existing record is returned: compare its
        ``backend_key`` with yours to know whether your ciphertext is the one in use, and
        delete yours if not. Content that was shredded cannot be stored again under the same
        digest (UsageError): the erasure must stay an erasure.
        """
        values = {
            "digest": names.check_digest(digest),
            "size": names.check_size("blob size", size),
            "stored_size": names.check_size("stored size", stored_size),
            "backend_key": names.check_text("backend key", backend_key, 255),
            "blob_id": names.check_bytes("blob id", blob_id, 16, 16),
            "chunk_size": names.check_size("chunk size", chunk_size),
            "wrapped_dek": names.check_bytes("wrapped data key", wrapped_dek, 1, MAX_WRAPPED_DEK),
            "kek_provider": names.check_text("key provider", kek_provider, 32),
            "kek_id": names.check_text("key id", kek_id, 128),
            "kek_version": names.check_text("key version", kek_version, 64),
            "created_at": self._clock(),
        }
        if not 0 < chunk_size < 2**31:
            raise UsageError("chunk size", f"{chunk_size} is out of range", "pass a positive size")
        with write_transaction(self._engine) as connection:
            connection.execute(rows.insert_ignoring_duplicates(connection, _BLOBS).values(values))
            row = connection.execute(select(_BLOBS).where(_BLOBS.c.digest == digest)).one()
        record = rows.blob_record(row)
        if record.shredded:
            raise UsageError(
                f"blob {digest}",
                f"this content was crypto-shredded at {record.shredded_at:%Y-%m-%d %H:%M} UTC",
                "shredded content cannot be stored again under the same digest",
            )
        return record

    def get_blob(self, digest: str) -> BlobRecord | None:
        """The blob with this digest, or None if it was never stored."""
        names.check_digest(digest)
        with self._engine.connect() as connection:
            row = connection.execute(select(_BLOBS).where(_BLOBS.c.digest == digest)).first()
        return None if row is None else rows.blob_record(row)

    def blobs_with_kek_version_not(
        self, version: str, batch: int = 500, *, after: str | None = None
    ) -> list[BlobRecord]:
        """Up to ``batch`` live (unshredded) blobs not yet wrapped by KEK ``version``.

        Ordered by digest and starting after ``after``, so a rotation pages through them and
        resumes where it stopped (:meth:`record_rewrap_progress` keeps the cursor).
        """
        names.check_text("key version", version, 64)
        if not 1 <= batch <= MAX_BATCH:
            raise UsageError("batch", f"{batch} is out of range", f"pass 1..{MAX_BATCH}")
        query = (
            select(_BLOBS)
            .where(_BLOBS.c.kek_version != version, _BLOBS.c.wrapped_dek.is_not(None))
            .order_by(_BLOBS.c.digest)
            .limit(batch)
        )
        if after is not None:
            query = query.where(_BLOBS.c.digest > names.check_digest(after))
        with self._engine.connect() as connection:
            return [rows.blob_record(row) for row in connection.execute(query)]

    def update_wrapped_dek(
        self,
        digest: str,
        wrapped: bytes,
        version: str,
        *,
        kek_provider: str | None = None,
        kek_id: str | None = None,
    ) -> bool:
        """Store a rewrapped data key. Returns False if the blob is unknown or was shredded.

        A shredded blob is never given a key back, even if a rotation read it before the
        shred: the update only touches rows that still hold a key.
        """
        values: dict[str, Any] = {
            "wrapped_dek": names.check_bytes("wrapped data key", wrapped, 1, MAX_WRAPPED_DEK),
            "kek_version": names.check_text("key version", version, 64),
        }
        if kek_provider is not None:
            values["kek_provider"] = names.check_text("key provider", kek_provider, 32)
        if kek_id is not None:
            values["kek_id"] = names.check_text("key id", kek_id, 128)
        statement = (
            update(_BLOBS)
            .where(_BLOBS.c.digest == names.check_digest(digest), _BLOBS.c.wrapped_dek.is_not(None))
            .values(values)
        )
        with write_transaction(self._engine) as connection:
            return connection.execute(statement).rowcount == 1

    def shred_blob(self, digest: str, *, connection: Connection | None = None) -> BlobRecord:
        """Destroy the blob's wrapped data key: its ciphertext can never be decrypted again.

        Idempotent (a second shred keeps the first time). On SQLite the freed bytes are
        overwritten (``secure_delete``) and the write-ahead log is checkpointed and
        truncated, so the key does not linger in the database files. On PostgreSQL the old
        row version stays on disk until VACUUM reclaims it: run VACUUM after erasures.
        """
        names.check_digest(digest)
        with self._writing(connection) as conn:
            conn.execute(
                update(_BLOBS)
                .where(_BLOBS.c.digest == digest, _BLOBS.c.wrapped_dek.is_not(None))
                .values(wrapped_dek=None, shredded_at=self._clock())
            )
            row = conn.execute(select(_BLOBS).where(_BLOBS.c.digest == digest)).first()
            if row is None:
                raise UsageError(f"blob {digest}", "is not in the catalog", "check the digest")
        if connection is None:
            self.flush_erasures()
        return rows.blob_record(row)

    def flush_erasures(self) -> None:
        """After a shred committed in the caller's transaction: make SQLite overwrite the
        freed key bytes in its files now (no-op on PostgreSQL, which needs VACUUM)."""
        if self._engine.dialect.name == "sqlite":
            self._checkpoint_sqlite()

    def count_blobs_with_kek_version(self, version: str) -> int:
        """How many live data keys are wrapped by KEK ``version`` (retiring it shreds them)."""
        names.check_text("key version", version, 64)
        query = (
            select(func.count())
            .select_from(_BLOBS)
            .where(_BLOBS.c.kek_version == version, _BLOBS.c.wrapped_dek.is_not(None))
        )
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def backend_keys(self) -> set[str]:
        """Every object name a blob row points to (what garbage collection must keep)."""
        with self._engine.connect() as connection:
            return {str(k) for k in connection.execute(select(_BLOBS.c.backend_key)).scalars()}

    # -------------------------------------------------------------------------- artifacts

    def add_artifact(
        self,
        name: str,
        kind: str,
        digest: str,
        size: int,
        creator: str,
        labels: Mapping[str, str] | None = None,
        media_type: str | None = None,
        *,
        connection: Connection | None = None,
    ) -> ArtifactRecord:
        """Record a new version of ``name`` (1 for a new name, else the highest + 1).

        Versions are allocated under a lock, so concurrent writers in any number of
        processes get distinct versions. The blob must be catalogued and not shredded.
        """
        names.check_name(name)
        checked_labels = names.check_labels(labels)
        values: dict[str, Any] = {
            "name": name,
            "kind": names.check_kind(kind),
            "digest": names.check_digest(digest),
            "size": names.check_size("artifact size", size),
            "creator": names.check_creator(creator),
            "media_type": names.check_media_type(media_type),
            "created_at": self._clock(),
        }
        with self._writing(connection) as connection:
            advisory_lock(connection, LOCK_ARTIFACT_VERSION, name)
            blob = connection.execute(
                select(_BLOBS.c.wrapped_dek.is_(None)).where(_BLOBS.c.digest == digest)
            ).first()
            if blob is None:
                raise UsageError(
                    f"blob {digest}",
                    "is not in the catalog",
                    "store the blob (add_blob) before the artifact that points at it",
                )
            if blob[0]:
                raise UsageError(f"blob {digest}", "was crypto-shredded", "store the content again")
            latest = connection.execute(
                select(func.max(_ARTIFACTS.c.version)).where(_ARTIFACTS.c.name == name)
            ).scalar()
            values["version"] = (latest or 0) + 1
            artifact_id = connection.execute(
                insert(_ARTIFACTS).values(values).returning(_ARTIFACTS.c.id)
            ).scalar_one()
            if checked_labels:
                connection.execute(
                    insert(_LABELS),
                    [
                        {"artifact_id": artifact_id, "key": key, "value": value}
                        for key, value in checked_labels.items()
                    ],
                )
            return self._artifact(connection, artifact_id)

    def get_artifact(self, artifact_id: int) -> ArtifactRecord:
        """The artifact with this id (deleted or not); UsageError if there is none."""
        with self._engine.connect() as connection:
            return self._artifact(connection, artifact_id)

    def resolve(self, reference: str) -> ArtifactRecord:
        """``name`` (the latest version not deleted) or ``name:version`` → its record.

        Raises UsageError naming what is missing: an unknown name, a version that does not
        exist, or one that was deleted.
        """
        name, version = names.parse_reference(reference)
        query = select(_ARTIFACTS).where(_ARTIFACTS.c.name == name)
        if version is None:
            query = query.where(_ARTIFACTS.c.deleted_at.is_(None))
            query = query.order_by(_ARTIFACTS.c.version.desc()).limit(1)
        else:
            query = query.where(_ARTIFACTS.c.version == version)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
            if row is not None and row.deleted_at is None:
                return self._records(connection, [row])[0]
            latest = connection.execute(
                select(func.max(_ARTIFACTS.c.version)).where(
                    _ARTIFACTS.c.name == name, _ARTIFACTS.c.deleted_at.is_(None)
                )
            ).scalar()
            known = connection.execute(
                select(func.count()).where(_ARTIFACTS.c.name == name)
            ).scalar_one()
        if row is not None:
            raise UsageError(
                reference,
                f"{name}:{version} was deleted at {row.deleted_at:%Y-%m-%d %H:%M} UTC",
                f"use another version; {_LS_FIX}",
            )
        if not known:
            raise UsageError(reference, f"no artifact named {name}", _LS_FIX)
        if latest is None:
            raise UsageError(reference, f"every version of {name} was deleted", _LS_FIX)
        raise UsageError(
            reference, f"{name} has no version {version} (the latest is {latest})", _LS_FIX
        )

    def list_artifacts(
        self,
        name: str | None = None,
        kind: str | None = None,
        labels: Mapping[str, str | None] | None = None,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> list[ArtifactRecord]:
        """Artifacts by name then version, filtered by exact name, kind and labels.

        Each ``labels`` entry must match: ``{"team": "fraud"}`` needs that value,
        ``{"pii": None}`` only needs the key.
        """
        by_name: ColumnElement[Any] = _ARTIFACTS.c.name
        if self._engine.dialect.name == "postgresql":
            # Byte order, as SQLite sorts: a locale collation would order names differently
            # on each server.
            by_name = by_name.collate("C")
        query = select(_ARTIFACTS).order_by(by_name, _ARTIFACTS.c.version)
        if name is not None:
            query = query.where(_ARTIFACTS.c.name == names.check_name(name))
        if kind is not None:
            query = query.where(_ARTIFACTS.c.kind == names.check_kind(kind))
        for key, value in (labels or {}).items():
            match = select(_LABELS.c.artifact_id).where(_LABELS.c.key == names.check_label_key(key))
            if value is not None:
                match = match.where(_LABELS.c.value == value)
            query = query.where(_ARTIFACTS.c.id.in_(match))
        if not include_deleted:
            query = query.where(_ARTIFACTS.c.deleted_at.is_(None))
        if limit is not None:
            query = query.limit(max(0, limit))
        with self._engine.connect() as connection:
            return self._records(connection, connection.execute(query).all())

    def mark_deleted(
        self, artifact_id: int, *, connection: Connection | None = None
    ) -> ArtifactRecord:
        """Mark an artifact deleted (its version number is never reused); idempotent.

        The blob is untouched: other artifacts may share it. Use :meth:`shred_blob` to
        make content unreadable.
        """
        with self._writing(connection) as connection:
            connection.execute(
                update(_ARTIFACTS)
                .where(_ARTIFACTS.c.id == artifact_id, _ARTIFACTS.c.deleted_at.is_(None))
                .values(deleted_at=self._clock())
            )
            return self._artifact(connection, artifact_id)

    def artifacts_for_digest(self, digest: str) -> list[ArtifactRecord]:
        """Every artifact pointing at this blob, deleted ones included, oldest first."""
        query = (
            select(_ARTIFACTS)
            .where(_ARTIFACTS.c.digest == names.check_digest(digest))
            .order_by(_ARTIFACTS.c.id)
        )
        with self._engine.connect() as connection:
            return self._records(connection, connection.execute(query).all())

    def set_signature(
        self, artifact_id: int, bundle: bytes, *, connection: Connection | None = None
    ) -> ArtifactRecord:
        """Attach a signature bundle (up to 1 MiB), replacing any earlier one."""
        data = names.check_bytes("signature bundle", bundle, 1, names.MAX_SIGNATURE_BYTES)
        with self._writing(connection) as connection:
            record = self._artifact(connection, artifact_id)
            if record.deleted:
                raise UsageError(
                    record.reference, "was deleted", "sign an artifact that is still stored"
                )
            connection.execute(
                update(_ARTIFACTS).where(_ARTIFACTS.c.id == artifact_id).values(signature=data)
            )
            return self._artifact(connection, artifact_id)

    # ---------------------------------------------------------------------------- lineage

    def add_edge(self, source: str, target: str, relation: str) -> LineageEdge:
        """Record that data flowed from ``source`` to ``target``; idempotent.

        Endpoints are entity references: ``artifact:<id>`` (an artifact record's ``.ref``,
        which must exist), or ``run:…``, ``deployment:…`` and other ``kind:id`` names for
        things the catalog does not store. Returns the stored edge.
        """
        names.check_entity(source)
        names.check_entity(target)
        names.check_relation(relation)
        if source == target:
            raise UsageError(
                f"lineage edge {source}", "points at itself", "connect two different entities"
            )
        with write_transaction(self._engine) as connection:
            for endpoint in (source, target):
                if endpoint.startswith("artifact:"):
                    self._artifact(connection, int(endpoint[9:]))
            connection.execute(
                rows.insert_ignoring_duplicates(connection, _LINEAGE).values(
                    source=source, target=target, relation=relation, created_at=self._clock()
                )
            )
            row = connection.execute(
                select(_LINEAGE).where(
                    _LINEAGE.c.source == source,
                    _LINEAGE.c.target == target,
                    _LINEAGE.c.relation == relation,
                )
            ).one()
        return rows.lineage_edge(row)

    def lineage(
        self,
        ref: str,
        direction: Literal["up", "down"] = "up",
        depth: int = DEFAULT_LINEAGE_DEPTH,
        *,
        max_edges: int = DEFAULT_MAX_EDGES,
    ) -> list[LineageEdge]:
        """Edges reachable from ``ref`` within ``depth`` hops, nearest first.

        ``up`` follows edges backwards (what a model was trained on, transitively); ``down``
        follows them forwards (every model and deployment a dataset reaches, which is what
        an erasure request must cover). Deleted artifacts are included: they still hold
        derived data until shredded. Cycles are walked once. Rather than return an
        incomplete answer, raises UsageError when more than ``max_edges`` edges are reached.
        """
        names.check_entity(ref)
        if direction not in ("up", "down"):
            raise UsageError(f"direction {direction!r}", "is not up or down", "pass up or down")
        if not 1 <= depth <= MAX_LINEAGE_DEPTH:
            raise UsageError(f"depth {depth!r}", "is out of range", f"pass 1..{MAX_LINEAGE_DEPTH}")
        near, far = (
            (_LINEAGE.c.target, "source") if direction == "up" else (_LINEAGE.c.source, "target")
        )
        edges: list[LineageEdge] = []
        seen_edges: set[int] = set()
        seen_nodes = {ref}
        frontier = [ref]
        with self._engine.connect() as connection:
            for _ in range(depth):
                level = [
                    row
                    for chunk in rows.chunks(frontier)
                    for row in connection.execute(select(_LINEAGE).where(near.in_(chunk)))
                ]
                frontier = []
                for row in sorted(level, key=lambda r: int(r.id)):
                    if row.id in seen_edges:
                        continue
                    seen_edges.add(row.id)
                    edges.append(rows.lineage_edge(row))
                    if len(edges) > max_edges:
                        raise UsageError(
                            f"lineage of {ref}",
                            f"reaches more than {max_edges} edges",
                            "pass a smaller depth or a larger max_edges",
                        )
                    node = getattr(row, far)
                    if node not in seen_nodes:
                        seen_nodes.add(node)
                        frontier.append(node)
                if not frontier:
                    break
        return edges

    # ------------------------------------------------------------------------ rewrap jobs

    def start_rewrap_job(self, target_version: str) -> RewrapJob:
        """Start (or resume) moving every live blob's data key to KEK ``target_version``.

        Returns the unfinished job for the same version if there is one. Refuses to start
        while a job for another version is unfinished: two rotations would fight over rows.
        """
        names.check_text("key version", target_version, 64)
        with write_transaction(self._engine) as connection:
            advisory_lock(connection, LOCK_REWRAP_JOB, "rewrap")
            current = connection.execute(
                select(_REWRAP).where(_REWRAP.c.finished_at.is_(None)).order_by(_REWRAP.c.id)
            ).first()
            if current is not None:
                if current.target_version != target_version:
                    raise UsageError(
                        f"key rotation to {target_version}",
                        f"a rotation to {current.target_version} (job {current.id}) is unfinished",
                        "finish it (running the rotation again resumes it) first",
                    )
                return rows.rewrap_job(current)
            total = connection.execute(
                select(func.count()).where(
                    _BLOBS.c.kek_version != target_version, _BLOBS.c.wrapped_dek.is_not(None)
                )
            ).scalar_one()
            job_id = connection.execute(
                insert(_REWRAP)
                .values(
                    target_version=target_version, started_at=self._clock(), done=0, total=total
                )
                .returning(_REWRAP.c.id)
            ).scalar_one()
            return rows.rewrap_job(
                connection.execute(select(_REWRAP).where(_REWRAP.c.id == job_id)).one()
            )

    def record_rewrap_progress(self, job_id: int, *, cursor: str, advanced: int) -> RewrapJob:
        """Note that blobs up to digest ``cursor`` were handled, ``advanced`` of them just now."""
        names.check_digest(cursor)
        names.check_size("advanced", advanced)
        with write_transaction(self._engine) as connection:
            self._unfinished_job(connection, job_id)
            connection.execute(
                update(_REWRAP)
                .where(_REWRAP.c.id == job_id)
                .values(cursor=cursor, done=_REWRAP.c.done + advanced)
            )
            return rows.rewrap_job(
                connection.execute(select(_REWRAP).where(_REWRAP.c.id == job_id)).one()
            )

    def finish_rewrap_job(self, job_id: int) -> RewrapJob:
        """Mark the job finished; idempotent."""
        with write_transaction(self._engine) as connection:
            row = connection.execute(select(_REWRAP).where(_REWRAP.c.id == job_id)).first()
            if row is None:
                raise UsageError(f"rewrap job {job_id}", "does not exist", "check the job id")
            if row.finished_at is None:
                connection.execute(
                    update(_REWRAP).where(_REWRAP.c.id == job_id).values(finished_at=self._clock())
                )
            return rows.rewrap_job(
                connection.execute(select(_REWRAP).where(_REWRAP.c.id == job_id)).one()
            )

    def current_rewrap_job(self) -> RewrapJob | None:
        """The unfinished rotation, if any (to resume after a crash)."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_REWRAP).where(_REWRAP.c.finished_at.is_(None)).order_by(_REWRAP.c.id)
            ).first()
        return None if row is None else rows.rewrap_job(row)

    # ---------------------------------------------------------------------------- helpers

    def _artifact(self, connection: Connection, artifact_id: int) -> ArtifactRecord:
        if not isinstance(artifact_id, int) or isinstance(artifact_id, bool):
            raise UsageError(f"artifact id {artifact_id!r}", "is not an integer", "pass record.id")
        row = connection.execute(select(_ARTIFACTS).where(_ARTIFACTS.c.id == artifact_id)).first()
        if row is None:
            raise UsageError(f"artifact:{artifact_id}", "no artifact has this id", _LS_FIX)
        return self._records(connection, [row])[0]

    def _records(self, connection: Connection, found: Sequence[Row[Any]]) -> list[ArtifactRecord]:
        labels: dict[int, dict[str, str]] = {int(row.id): {} for row in found}
        for chunk in rows.chunks(list(labels)):
            query = select(_LABELS).where(_LABELS.c.artifact_id.in_(chunk))
            for label in connection.execute(query.order_by(_LABELS.c.key)):
                labels[label.artifact_id][label.key] = label.value
        return [rows.artifact_record(row, labels[int(row.id)]) for row in found]

    def _unfinished_job(self, connection: Connection, job_id: int) -> None:
        row = connection.execute(
            select(_REWRAP.c.finished_at).where(_REWRAP.c.id == job_id)
        ).first()
        if row is None:
            raise UsageError(f"rewrap job {job_id}", "does not exist", "check the job id")
        if row.finished_at is not None:
            raise UsageError(f"rewrap job {job_id}", "is already finished", "start a new one")

    def _checkpoint_sqlite(self) -> None:
        # Outside any transaction (the sqlite3 connection is in autocommit mode): copy the
        # WAL into the database file, whose freed bytes secure_delete zeroed, then empty it.
        connection = self._engine.raw_connection()
        try:
            connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            connection.close()
