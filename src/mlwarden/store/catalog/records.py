"""What the catalog returns: frozen records, detached from the database session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class BlobRecord:
    """One stored blob and the key material needed to decrypt it."""

    digest: str
    """Hex SHA-256 of the plaintext; the blob's identity."""
    size: int
    """Plaintext size in bytes."""
    stored_size: int
    """Ciphertext size in the backend."""
    backend_key: str
    """Object name in the blob backend."""
    blob_id: bytes
    """Random id bound into every chunk's authenticated data."""
    chunk_size: int
    """Plaintext bytes per encrypted chunk."""
    wrapped_dek: bytes | None = field(repr=False)
    """The data key wrapped by the KEK; None once the blob was shredded."""
    kek_provider: str
    kek_id: str
    kek_version: str
    """The KEK version that wrapped ``wrapped_dek``."""
    created_at: datetime
    shredded_at: datetime | None
    """When the data key was destroyed, or None."""

    @property
    def shredded(self) -> bool:
        """True once the data key is gone: the blob can never be decrypted again."""
        return self.wrapped_dek is None


@dataclass(frozen=True)
class ArtifactRecord:
    """One version of a named artifact."""

    id: int
    """Catalog-wide id, stable for the artifact's life (lineage uses ``artifact:<id>``)."""
    name: str
    version: int
    """1, 2, 3... per name; never reused."""
    kind: str
    """``model``, ``dataset``, ``file``, ``folder``, ``attestation``..."""
    digest: str
    """The blob holding its bytes."""
    size: int
    """Plaintext size in bytes."""
    creator: str
    created_at: datetime
    labels: Mapping[str, str]
    media_type: str | None
    signature: bytes | None = field(repr=False)
    """A model-signing bundle, when signed."""
    deleted_at: datetime | None

    @property
    def ref(self) -> str:
        """The lineage reference of this artifact: ``artifact:<id>``."""
        return f"artifact:{self.id}"

    @property
    def reference(self) -> str:
        """``name:version``, as a user types it."""
        return f"{self.name}:{self.version}"

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class LineageEdge:
    """Data flowed from ``source`` to ``target`` (dataset → model: ``trained``)."""

    id: int
    source: str
    target: str
    relation: str
    created_at: datetime


@dataclass(frozen=True)
class RewrapJob:
    """A key rotation moving every live blob's data key to ``target_version``."""

    id: int
    target_version: str
    started_at: datetime
    finished_at: datetime | None
    cursor: str | None
    """The last digest handled; pass it as ``after`` to continue."""
    done: int
    total: int
    """Blobs that needed rewrapping when the job started."""

    @property
    def finished(self) -> bool:
        return self.finished_at is not None
