"""The tamper-evident ledger: an append-only audit log with Merkle proofs and signed checkpoints.

Layer 2 (state). ``merkle`` holds RFC 6962 / RFC 9162 hashing and proofs, ``checkpoint``
signed tree heads (C2SP signed notes, Ed25519), ``entry`` the entries and their canonical
bodies, ``log`` the database-backed :class:`Ledger`, ``audit`` offline verification and
``export`` JSON-lines exports an auditor can verify without the database.
"""

from mlwarden.ledger.audit import LedgerProblem, ProblemKind, VerifyReport
from mlwarden.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    LedgerSigner,
    LedgerVerifier,
    sign_checkpoint,
    verify_checkpoint,
)
from mlwarden.ledger.entry import LedgerEntry, StoredEntry
from mlwarden.ledger.export import verify_export
from mlwarden.ledger.log import Ledger

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Ledger",
    "LedgerEntry",
    "LedgerProblem",
    "LedgerSigner",
    "LedgerVerifier",
    "ProblemKind",
    "StoredEntry",
    "VerifyReport",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_export",
]
