"""SQLAlchemy 2 tables of the catalog database (SQLite by default, PostgreSQL when configured).

Alembic migrations under ``mlwarden/store/catalog/migrations`` create and evolve exactly
these tables; change both together (``tests/store/catalog`` checks that they agree).
Callers never see these rows: :mod:`mlwarden.store.catalog.catalog` returns frozen records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints and indexes, so later migrations (SQLite rebuilds tables to alter them)
# can refer to each one by a name that is the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite has no time zones: values are stored as naive UTC and come back aware, so a
    record read from SQLite equals the one read from PostgreSQL. Naive input is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("catalog timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamp from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base shared by every catalog table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BlobRow(Base):
    """One encrypted blob, addressed by the SHA-256 of its plaintext.

    The wrapped data key lives here, not in the blob, so key rotation rewraps rows without
    touching stored data, and crypto-shredding deletes ``wrapped_dek``.
    """

    __tablename__ = "blobs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hex SHA-256 of the plaintext."""
    size: Mapped[int] = mapped_column(BigInteger)
    """Plaintext size in bytes."""
    stored_size: Mapped[int] = mapped_column(BigInteger)
    """Ciphertext size in the backend (header, chunks and tags)."""
    backend_key: Mapped[str] = mapped_column(String(255))
    """Object name in the blob backend."""
    blob_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    """Random id bound into every chunk's authenticated data."""
    chunk_size: Mapped[int] = mapped_column(Integer)
    """Plaintext bytes per encrypted chunk."""
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The data key wrapped by a KEK; NULL once shredded."""
    kek_provider: Mapped[str] = mapped_column(String(32))
    """Which key provider holds the KEK (``local``, ``vault``, ``kms``...)."""
    kek_id: Mapped[str] = mapped_column(String(128))
    """The KEK's name at that provider."""
    kek_version: Mapped[str] = mapped_column(String(64), index=True)
    """The KEK version that wrapped ``wrapped_dek``; rotation moves rows off old versions."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    shredded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """When the data key was destroyed (the blob is unreadable from then on)."""


class ArtifactRow(Base):
    """A named, versioned artifact pointing at a blob. Rows are never deleted, only marked."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    """1, 2, 3... per name; never reused, even after a deletion."""
    kind: Mapped[str] = mapped_column(String(32))
    """``model``, ``dataset``, ``file``, ``folder`` (a tar of a folder), ``attestation``..."""
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    creator: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    media_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """A model-signing bundle (JSON bytes) over the artifact, when signed."""
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ArtifactLabelRow(Base):
    """One ``key=value`` label of an artifact (a table, so filters are indexed on any engine)."""

    __tablename__ = "artifact_labels"
    __table_args__ = (Index(None, "key", "value"),)

    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class LineageRow(Base):
    """A directed edge along which data flows: dataset → run → model → deployment.

    ``source`` is the input and ``target`` what was made from it, so walking edges backwards
    answers "what was this model trained on" and forwards "what does this dataset reach".
    Endpoints are references such as ``artifact:42`` or ``run:train-2026-11-27``, so runs
    and deployments need no table of their own.
    """

    __tablename__ = "lineage"
    __table_args__ = (UniqueConstraint("source", "target", "relation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(255), index=True)
    target: Mapped[str] = mapped_column(String(255), index=True)
    relation: Mapped[str] = mapped_column(String(64))
    """``trained``, ``produced``, ``deployed``, ``derived``..."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerEntryRow(Base):
    """One leaf of the ledger's Merkle tree. Rows are only ever inserted."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """0-based leaf index; dense (a gap is tampering)."""
    body: Mapped[bytes] = mapped_column(LargeBinary)
    """Canonical JSON of the entry (who, what, which artifact, decision, time), with its own
    seq and the previous entry's leaf hash: the leaf data."""
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """RFC 6962 leaf hash of ``body`` (recomputed on verify, never trusted)."""


class LedgerCheckpointRow(Base):
    """A signed tree head: the root of the first ``tree_size`` leaves, signed with Ed25519."""

    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signed_note: Mapped[str] = mapped_column(Text)
    """The checkpoint text and its signature line(s), verifiable without the database."""
    edge: Mapped[bytes] = mapped_column(LargeBinary)
    """The tree's right edge at ``tree_size`` (see :class:`LedgerFrontierRow`); it hashes to
    ``root_hash``, so the next checkpoint can be proved to extend this one from the entries
    appended since, before it is signed."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerFrontierRow(Base):
    """The ledger's head, a single row (``id`` 1): tree size and the Merkle tree's right edge.

    Appends lock this row (``SELECT ... FOR UPDATE`` on PostgreSQL; the first write takes
    SQLite's writer lock) and update it in the transaction that inserts their entries, so
    concurrent writers take turns and an append costs O(log n) hashing.
    """

    __tablename__ = "ledger_frontier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """Always 1."""
    tree_size: Mapped[int] = mapped_column(BigInteger)
    """Number of entries, i.e. the next entry's seq."""
    edge: Mapped[bytes] = mapped_column(LargeBinary)
    """Roots of the complete subtrees along the right edge, largest first, 32 bytes each
    (one per set bit of ``tree_size``)."""


class RewrapJobRow(Base):
    """A resumable key-rotation job: which KEK version blobs are being moved to, and how far."""

    __tablename__ = "rewrap_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cursor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The last blob digest handled; a resumed job continues after it."""
    done: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    """Blobs that needed rewrapping when the job started."""


# Tables of later layers share this metadata, so migrations and their check see every table.
from mlwarden.identity import tables as _identity_tables  # noqa: E402,F401
from mlwarden.registry import tables as _registry_tables  # noqa: E402,F401
