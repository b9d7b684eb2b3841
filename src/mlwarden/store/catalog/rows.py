"""From database rows to the frozen records callers get, and small query helpers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import Connection, Insert, Row, Table
from sqlalchemy.dialects import postgresql, sqlite

from mlwarden.store.catalog.records import ArtifactRecord, BlobRecord, LineageEdge, RewrapJob

IN_CHUNK = 500
"""Values per ``IN (...)`` list, well under every engine's bound-parameter limit."""

_T = TypeVar("_T")


def insert_ignoring_duplicates(connection: Connection, table: Table) -> Insert:
    """INSERT that does nothing when a unique key already exists (no error, no race)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most :data:`IN_CHUNK`, one per ``IN (...)`` query."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def blob_record(row: Row[Any]) -> BlobRecord:
    return BlobRecord(
        digest=row.digest,
        size=row.size,
        stored_size=row.stored_size,
        backend_key=row.backend_key,
        blob_id=bytes(row.blob_id),
        chunk_size=row.chunk_size,
        wrapped_dek=None if row.wrapped_dek is None else bytes(row.wrapped_dek),
        kek_provider=row.kek_provider,
        kek_id=row.kek_id,
        kek_version=row.kek_version,
        created_at=row.created_at,
        shredded_at=row.shredded_at,
    )


def artifact_record(row: Row[Any], labels: Mapping[str, str]) -> ArtifactRecord:
    return ArtifactRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        kind=row.kind,
        digest=row.digest,
        size=row.size,
        creator=row.creator,
        created_at=row.created_at,
        labels=MappingProxyType(dict(labels)),
        media_type=row.media_type,
        signature=None if row.signature is None else bytes(row.signature),
        deleted_at=row.deleted_at,
    )


def lineage_edge(row: Row[Any]) -> LineageEdge:
    return LineageEdge(
        id=row.id,
        source=row.source,
        target=row.target,
        relation=row.relation,
        created_at=row.created_at,
    )


def rewrap_job(row: Row[Any]) -> RewrapJob:
    return RewrapJob(
        id=row.id,
        target_version=row.target_version,
        started_at=row.started_at,
        finished_at=row.finished_at,
        cursor=row.cursor,
        done=row.done,
        total=row.total,
    )
