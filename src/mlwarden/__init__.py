"""mlwarden: a security control plane for machine-learning pipelines.

The Python API::

    import mlwarden
    report = mlwarden.scan("models/")          # never loads what it scans
    model = mlwarden.safe_load("model.joblib")  # scans, then loads only if clean
"""

from __future__ import annotations

from typing import Any

from mlwarden.errors import UnsafeModelError
from mlwarden.findings import Finding, Report, Severity

__version__ = "0.1.0"

__all__ = ["Finding", "Report", "Severity", "UnsafeModelError", "__version__", "safe_load", "scan"]


def scan(*paths: str, fail_on: str = "high", digest: bool = False) -> Report:
    """Scan files or folders statically and return a :class:`~mlwarden.findings.Report`."""
    from mlwarden.engine import scan_paths

    return scan_paths(list(paths), fail_on=Severity.parse(fail_on), digest=digest)


def safe_load(path: str, *, fail_on: str = "medium", **kwargs: Any) -> Any:
    """Scan ``path`` and load it only if nothing at or above ``fail_on`` was found.

    Raises :class:`~mlwarden.errors.UnsafeModelError` otherwise. See
    :mod:`mlwarden.loading` for the loaders used per format.
    """
    from mlwarden.loading import safe_load as _safe_load

    return _safe_load(path, fail_on=fail_on, **kwargs)
