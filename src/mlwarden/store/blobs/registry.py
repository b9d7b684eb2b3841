"""Which backend serves which store URL. Adding a backend is one new module and one line here.

Backend modules are imported on first use, so a local store never imports boto3.
"""

from __future__ import annotations

import importlib
import os
import re

from mlwarden.errors import UsageError
from mlwarden.store.blobs.interface import BlobBackend

_SCHEMES: dict[str, str] = {
    "file": "mlwarden.store.blobs.local:LocalBackend",
    "s3": "mlwarden.store.blobs.s3:S3Backend",
}
# Two or more letters, so a Windows drive ("C:\\blobs") reads as a path, not a scheme.
_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):")


def backend_from_url(url: str | os.PathLike[str]) -> BlobBackend:
    """The backend a store URL names.

    ``file:///path`` or a plain path is a local folder; ``s3://bucket/prefix?endpoint=…`` is
    an S3-compatible bucket (see :meth:`~mlwarden.store.blobs.s3.S3Backend.from_url`).
    Raises :class:`~mlwarden.errors.UsageError` for an empty or unknown URL.
    """
    text = os.fspath(url)
    if not text.strip():
        raise UsageError(
            "blob store URL", "is empty", "pass a folder path, file:///path or s3://bucket"
        )
    match = _SCHEME.match(text)
    if match is None:
        from mlwarden.store.blobs.local import LocalBackend

        return LocalBackend(text)
    scheme = match["scheme"].lower()
    spec = _SCHEMES.get(scheme)
    if spec is None:
        raise UsageError(
            f"blob store URL scheme {scheme!r}",
            "is not supported",
            f"use one of {', '.join(s + '://' for s in sorted(_SCHEMES))} or a plain folder "
            "path (write file:///path for a path that contains ':')",
        )
    module, _, name = spec.partition(":")
    backend: BlobBackend = getattr(importlib.import_module(module), name).from_url(text)
    return backend
