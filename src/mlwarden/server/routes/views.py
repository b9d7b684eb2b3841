"""JSON shapes the API returns (also its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from mlwarden.registry.records import Promotion, ScanRecord
from mlwarden.store.catalog.records import ArtifactRecord


class ArtifactView(BaseModel):
    name: str
    version: int
    reference: str
    kind: str
    digest: str
    size: int
    creator: str
    created_at: datetime
    project: str | None
    labels: dict[str, str]
    stage: str
    signed: bool
    quarantined: bool | None = None


class ScanView(BaseModel):
    status: str
    max_severity: str | None
    quarantined: bool
    scanned_at: datetime
    findings: list[dict[str, Any]]


class VoteView(BaseModel):
    voter: str
    approve: bool
    note: str
    voted_at: datetime


class PromotionView(BaseModel):
    id: int
    artifact: str
    from_stage: str
    to_stage: str
    requested_by: str
    requested_at: datetime
    status: str
    reason: str
    votes: list[VoteView]


def artifact_view(
    record: ArtifactRecord, stage: str, scan: ScanRecord | None = None
) -> ArtifactView:
    return ArtifactView(
        name=record.name,
        version=record.version,
        reference=record.reference,
        kind=record.kind,
        digest=record.digest,
        size=record.size,
        creator=record.creator,
        created_at=record.created_at,
        project=record.labels.get("project"),
        labels=dict(record.labels),
        stage=stage,
        signed=record.signature is not None,
        quarantined=None if scan is None else scan.quarantined,
    )


def scan_view(scan: ScanRecord) -> ScanView:
    import json

    return ScanView(
        status=scan.status,
        max_severity=scan.max_severity,
        quarantined=scan.quarantined,
        scanned_at=scan.scanned_at,
        findings=json.loads(scan.findings),
    )


def promotion_view(promotion: Promotion, reference: str) -> PromotionView:
    return PromotionView(
        id=promotion.id,
        artifact=reference,
        from_stage=promotion.from_stage,
        to_stage=promotion.to_stage,
        requested_by=promotion.requested_by,
        requested_at=promotion.requested_at,
        status=promotion.status,
        reason=promotion.reason,
        votes=[VoteView(**v.__dict__) for v in promotion.votes],
    )
