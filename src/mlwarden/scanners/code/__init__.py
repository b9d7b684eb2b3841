"""Secrets in code, configs and notebooks (``MLW-SEC-*``).

Format names and scanners for the registry: ``source`` →
:class:`SourceSecretsScanner`, ``notebook`` → :class:`NotebookSecretsScanner`; sniff with
:func:`looks_like_notebook` first, then :func:`looks_like_source`. Baselines of accepted
secrets: :func:`write_baseline`, :func:`load_baseline`, :func:`drop_baselined`.
"""

from __future__ import annotations

from mlwarden.scanners.code.baseline import (
    Baseline,
    Fingerprint,
    drop_baselined,
    fingerprint,
    load_baseline,
    write_baseline,
)
from mlwarden.scanners.code.secret_finding import SecretFinding, redact
from mlwarden.scanners.code.secret_rules import SECRET_RULES
from mlwarden.scanners.code.secrets_scanner import (
    NotebookSecretsScanner,
    SecretScanOptions,
    SourceSecretsScanner,
    scan_text,
)
from mlwarden.scanners.code.text_sniff import SNIFF_BYTES, looks_like_notebook, looks_like_source

__all__ = [
    "SECRET_RULES",
    "SNIFF_BYTES",
    "Baseline",
    "Fingerprint",
    "NotebookSecretsScanner",
    "SecretFinding",
    "SecretScanOptions",
    "SourceSecretsScanner",
    "drop_baselined",
    "fingerprint",
    "load_baseline",
    "looks_like_notebook",
    "looks_like_source",
    "redact",
    "scan_text",
    "write_baseline",
]
