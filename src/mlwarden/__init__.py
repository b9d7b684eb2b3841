"""mlwarden: a security control plane for machine-learning pipelines.

The Python API::

    import mlwarden
    report = mlwarden.scan("models/")          # never loads what it scans
    model = mlwarden.safe_load("model.joblib")  # scans, then loads only if clean

    with mlwarden.open_vault() as vault:        # $MLWARDEN_HOME, MLWARDEN_KEYRING_SECRET
        vault.put(Path("model.pt"), "models/clf", kind="model")
        vault.get("models/clf", Path("out.pt"))
        assert vault.ledger.verify(vault.verifier).ok

    masked = mlwarden.mask("people.csv", "people.masked.csv")  # default policy
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlwarden.errors import UnsafeModelError
from mlwarden.findings import Finding, Report, Severity

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mlwarden.masking.summary import MaskSummary
    from mlwarden.store.vault import Vault

__all__ = [
    "Finding",
    "Report",
    "Severity",
    "UnsafeModelError",
    "__version__",
    "mask",
    "open_vault",
    "safe_load",
    "scan",
]


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


def open_vault(
    home: str | Path | None = None,
    *,
    passphrase: str | None = None,
    secret: bytes | None = None,
) -> Vault:
    """Open the vault of a workspace made by ``mlwarden init`` (default ``$MLWARDEN_HOME``
    or ``~/.mlwarden``). The keyring is unlocked with ``passphrase`` or ``secret``, else
    from ``MLWARDEN_KEYRING_SECRET`` / ``MLWARDEN_PASSPHRASE``. Use it as a context manager
    (or call ``close()``)."""
    from mlwarden.store.workspace_vault import open_vault as _open
    from mlwarden.workspace import Credential, credential_from_environment, default_home

    if passphrase is not None or secret is not None:
        credential = Credential(passphrase=passphrase, secret=secret)
    else:
        credential = credential_from_environment(None, new=False)
    return _open(Path(home) if home is not None else default_home(), credential)


def mask(
    source: str | Path,
    destination: str | Path,
    *,
    policy: str | Path | None = None,
    key_file: str | Path | None = None,
) -> MaskSummary:
    """Write a masked copy of a CSV/TSV/JSON-lines/Parquet/text file (see ``mlwarden mask``)."""
    from mlwarden.masking.engine import mask_file
    from mlwarden.masking.keys import default_key_source
    from mlwarden.masking.policy import default_policy, load_policy

    chosen = load_policy(str(policy)) if policy is not None else default_policy()
    key_source = default_key_source(str(key_file) if key_file is not None else None)
    return mask_file(str(source), str(destination), chosen, key_source=key_source)
