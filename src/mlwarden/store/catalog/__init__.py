"""The catalog database: artifacts, blobs and their wrapped keys, lineage, the ledger.

``open_database(url)`` returns a migrated engine; ``Catalog(engine)`` queries and updates
it and returns the frozen records of :mod:`.records`.
"""

from mlwarden.store.catalog.catalog import Catalog
from mlwarden.store.catalog.db import (
    ENV_VAR,
    open_database,
    resolve_database_url,
    write_transaction,
)
from mlwarden.store.catalog.records import ArtifactRecord, BlobRecord, LineageEdge, RewrapJob

__all__ = [
    "ENV_VAR",
    "ArtifactRecord",
    "BlobRecord",
    "Catalog",
    "LineageEdge",
    "RewrapJob",
    "open_database",
    "resolve_database_url",
    "write_transaction",
]
