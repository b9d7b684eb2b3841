"""Frozen views of registry rows handed to callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STAGES = ("dev", "staging", "production")
"""Stages a model version moves through, in order."""


@dataclass(frozen=True)
class ScanRecord:
    """The admission scan of one artifact version."""

    artifact_id: int
    status: str
    max_severity: str | None
    findings: str
    """JSON list of findings."""
    quarantined: bool
    scanned_at: datetime


@dataclass(frozen=True)
class ModelCard:
    """How a model version is served."""

    artifact_id: int
    framework: str
    input_schema: str
    architecture: str | None
    reference_profile: str | None = None
    """Profile JSON of the training data, for live drift monitoring."""


@dataclass(frozen=True)
class Vote:
    voter: str
    approve: bool
    note: str
    voted_at: datetime


@dataclass(frozen=True)
class Promotion:
    """A request to move a model version to ``to_stage``, with its votes."""

    id: int
    artifact_id: int
    from_stage: str
    to_stage: str
    requested_by: str
    requested_at: datetime
    status: str
    reason: str
    votes: tuple[Vote, ...]

    @property
    def approvals(self) -> int:
        return sum(1 for v in self.votes if v.approve)
