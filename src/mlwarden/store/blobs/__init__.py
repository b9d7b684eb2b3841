"""Blob backends: where the vault's ciphertext lives (a local folder by default, or S3).

``backend_from_url(url)`` picks one; every backend implements :class:`BlobBackend`.
"""

from mlwarden.store.blobs.interface import DEFAULT_ORPHAN_AGE, BlobBackend, BlobWriter
from mlwarden.store.blobs.keys import KEY_SUFFIXES, BlobNotFoundError, check_key, is_valid_key
from mlwarden.store.blobs.local import LocalBackend
from mlwarden.store.blobs.registry import backend_from_url

__all__ = [
    "DEFAULT_ORPHAN_AGE",
    "KEY_SUFFIXES",
    "BlobBackend",
    "BlobNotFoundError",
    "BlobWriter",
    "LocalBackend",
    "backend_from_url",
    "check_key",
    "is_valid_key",
]
