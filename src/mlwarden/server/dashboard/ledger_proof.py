"""Checking, on the server, that one ledger entry is in the latest signed checkpoint.

The page shows each step so an auditor can follow (or redo) it: the entry's leaf hash
recomputed from its body, the checkpoint's Ed25519 signature checked with the workspace's
ledger key, and the RFC 9162 inclusion proof folded up to the checkpoint's root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlwarden.ledger.checkpoint import Checkpoint, CheckpointError, LedgerVerifier
from mlwarden.ledger.log import Ledger
from mlwarden.ledger.merkle import leaf_hash, verify_inclusion


@dataclass(frozen=True)
class InclusionCheck:
    """The outcome of checking entry ``seq`` against the latest signed checkpoint."""

    seq: int
    body: dict[str, Any]
    recorded_leaf: str
    computed_leaf: str
    key: str
    """The verifying key, ``name+key id``."""
    checkpoint: Checkpoint | None = None
    signature_problem: str = ""
    proof: list[str] = field(default_factory=list)
    included: bool | None = None
    """None when no signed checkpoint covers the entry yet."""

    @property
    def leaf_matches(self) -> bool:
        """Whether the body hashes to the leaf hash stored next to it."""
        return self.recorded_leaf == self.computed_leaf

    @property
    def signature_ok(self) -> bool:
        """Whether the latest checkpoint's signature verified with the ledger key."""
        return self.checkpoint is not None and not self.signature_problem

    @property
    def verified(self) -> bool:
        """Every step passed: the body is entry ``seq`` of a tree the ledger key signed."""
        return self.leaf_matches and self.signature_ok and self.included is True

    @property
    def details_json(self) -> str:
        """The entry's details, pretty-printed for the page."""
        return json.dumps(self.body.get("details", {}), indent=2, sort_keys=True)


def check_inclusion(ledger: Ledger, verifier: LedgerVerifier, seq: int) -> InclusionCheck | None:
    """Check entry ``seq`` (None when the ledger has no such entry)."""
    if seq < 0 or seq >= ledger.head().tree_size:
        return None
    stored = next(iter(ledger.entries(seq, seq + 1)), None)
    if stored is None:
        return None
    base: dict[str, Any] = {
        "seq": seq,
        "body": json.loads(stored.body),
        "recorded_leaf": stored.leaf_hash.hex(),
        "computed_leaf": leaf_hash(stored.body).hex(),
        "key": f"{verifier.name}+{verifier.key_id:08x}",
    }
    try:
        checkpoint = ledger.latest_checkpoint(verifier)
    except CheckpointError as exc:
        return InclusionCheck(**base, signature_problem=exc.problem)
    if checkpoint is None:
        return InclusionCheck(**base, signature_problem="no checkpoint has been signed yet")
    if seq >= checkpoint.tree_size:
        return InclusionCheck(**base, checkpoint=checkpoint)
    proof = ledger.inclusion_proof(seq, checkpoint.tree_size)
    included = verify_inclusion(
        leaf_hash(stored.body), seq, checkpoint.tree_size, proof, checkpoint.root_hash
    )
    return InclusionCheck(
        **base, checkpoint=checkpoint, proof=[p.hex() for p in proof], included=included
    )
