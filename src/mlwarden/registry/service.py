"""Registry rules: quarantine on admission, stages, and promotion by other people's approval.

The rules that must hold whoever calls (API, dashboard, CLI) live here rather than in the
routes: a quarantined version is never promoted, a promotion moves one stage at a time, and
neither the requester nor the uploader can approve it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select, update

from mlwarden.errors import UsageError
from mlwarden.registry.records import STAGES, ModelCard, Promotion, ScanRecord, Vote
from mlwarden.registry.tables import (
    ApprovalRow,
    ModelCardRow,
    PromotionRow,
    ScanResultRow,
    StageRow,
)
from mlwarden.store.catalog.db import write_transaction
from mlwarden.store.catalog.schema import Base


class RegistryRuleError(UsageError):
    """A registry rule refused the change (HTTP 409)."""


def _now() -> datetime:
    return datetime.now(UTC)


class ModelRegistry:
    """Scan verdicts, model cards, stages and promotions, stored in the catalog database."""

    def __init__(
        self,
        engine: Engine,
        *,
        approvals_required: int = 1,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if approvals_required < 1:
            raise ValueError("a promotion needs at least one approval")
        self.engine = engine
        self.generation = 0
        """Bumped when a version changes stage through this registry (caches compare it)."""
        self.approvals_required = approvals_required
        self._clock = clock

    # -- admission -------------------------------------------------------------------

    def record_scan(
        self,
        artifact_id: int,
        *,
        status: str,
        max_severity: str | None,
        findings_json: str,
        quarantined: bool,
    ) -> ScanRecord:
        row = ScanResultRow(
            artifact_id=artifact_id,
            status=status,
            max_severity=max_severity,
            findings=findings_json,
            quarantined=quarantined,
            scanned_at=self._clock(),
        )
        with write_transaction(self.engine) as conn:
            conn.execute(
                _table(ScanResultRow).delete().where(ScanResultRow.artifact_id == artifact_id)
            )
            conn.execute(_table(ScanResultRow).insert().values(**_values(row)))
        return _scan(row)

    def scan(self, artifact_id: int) -> ScanRecord | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_table(ScanResultRow)).where(ScanResultRow.artifact_id == artifact_id)
            ).first()
        return None if found is None else ScanRecord(**found._mapping)

    def set_card(
        self,
        artifact_id: int,
        *,
        framework: str,
        input_schema: str,
        architecture: str | None,
        reference_profile: str | None = None,
    ) -> ModelCard:
        with write_transaction(self.engine) as conn:
            conn.execute(
                _table(ModelCardRow).delete().where(ModelCardRow.artifact_id == artifact_id)
            )
            conn.execute(
                _table(ModelCardRow)
                .insert()
                .values(
                    artifact_id=artifact_id,
                    framework=framework,
                    input_schema=input_schema,
                    architecture=architecture,
                    reference_profile=reference_profile,
                )
            )
        return ModelCard(artifact_id, framework, input_schema, architecture, reference_profile)

    def card(self, artifact_id: int) -> ModelCard | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_table(ModelCardRow)).where(ModelCardRow.artifact_id == artifact_id)
            ).first()
        return None if found is None else ModelCard(**found._mapping)

    # -- stages ------------------------------------------------------------------------

    def stage(self, artifact_id: int) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(StageRow.stage).where(StageRow.artifact_id == artifact_id)
            ).scalar()
        return found or STAGES[0]

    def stages(self, artifact_ids: list[int]) -> dict[int, str]:
        if not artifact_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(StageRow.artifact_id, StageRow.stage).where(
                    StageRow.artifact_id.in_(artifact_ids)
                )
            ).all()
        known = {r.artifact_id: r.stage for r in rows}
        return {a: known.get(a, STAGES[0]) for a in artifact_ids}

    def in_stage(self, stage: str) -> list[int]:
        """Artifact ids currently in ``stage``, newest first."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(StageRow.artifact_id)
                    .where(StageRow.stage == stage)
                    .order_by(StageRow.artifact_id.desc())
                ).scalars()
            )

    # -- promotions ----------------------------------------------------------------------

    def request_promotion(
        self, artifact_id: int, to_stage: str, requested_by: str, reason: str = ""
    ) -> Promotion:
        """Open a request to move a version one stage up; refuses quarantined versions."""
        if to_stage not in STAGES[1:]:
            raise RegistryRuleError(
                "to_stage", f"{to_stage!r} is not a stage", f"use one of {', '.join(STAGES[1:])}"
            )
        scan = self.scan(artifact_id)
        if scan is None or scan.quarantined or scan.status == "error":
            raise RegistryRuleError(
                f"artifact:{artifact_id}",
                "is quarantined or was never scanned clean",
                "upload a version that passes the admission scan",
            )
        current = self.stage(artifact_id)
        if STAGES.index(to_stage) != STAGES.index(current) + 1:
            raise RegistryRuleError(
                f"artifact:{artifact_id}",
                f"is in {current}; promotions move one stage at a time",
                f"request {STAGES[min(STAGES.index(current) + 1, len(STAGES) - 1)]} first",
            )
        now = self._clock()
        with write_transaction(self.engine) as conn:
            pending = conn.execute(
                select(PromotionRow.id).where(
                    PromotionRow.artifact_id == artifact_id, PromotionRow.status == "pending"
                )
            ).first()
            if pending is not None:
                raise RegistryRuleError(
                    f"artifact:{artifact_id}",
                    f"already has a pending promotion (#{pending.id})",
                    "approve or reject that one first",
                )
            new_id = conn.execute(
                _table(PromotionRow)
                .insert()
                .values(
                    artifact_id=artifact_id,
                    from_stage=current,
                    to_stage=to_stage,
                    requested_by=requested_by,
                    requested_at=now,
                    status="pending",
                    reason=reason[:2000],
                )
            ).inserted_primary_key
        assert new_id is not None
        return self.promotion(int(new_id[0]))

    def vote(
        self, promotion_id: int, voter: str, *, approve: bool, creator: str, note: str = ""
    ) -> Promotion:
        """Record a vote; enough approvals promote, one rejection closes the request."""
        promotion = self.promotion(promotion_id)
        if promotion.status != "pending":
            raise RegistryRuleError(
                f"promotion #{promotion_id}", f"is already {promotion.status}", "open a new one"
            )
        if voter in (promotion.requested_by, creator):
            raise RegistryRuleError(
                f"promotion #{promotion_id}",
                "cannot be decided by its requester or the model's uploader",
                "ask another approver",
            )
        if any(v.voter == voter for v in promotion.votes):
            raise RegistryRuleError(
                f"promotion #{promotion_id}", f"{voter} has already voted", "wait for others"
            )
        scan = self.scan(promotion.artifact_id)
        if approve and (scan is None or scan.quarantined):
            raise RegistryRuleError(
                f"promotion #{promotion_id}", "its model is quarantined", "reject it"
            )
        now = self._clock()
        approvals = promotion.approvals + (1 if approve else 0)
        status = "rejected" if not approve else "pending"
        if approve and approvals >= self.approvals_required:
            status = "approved"
        with write_transaction(self.engine) as conn:
            conn.execute(
                _table(ApprovalRow)
                .insert()
                .values(
                    promotion_id=promotion_id,
                    voter=voter,
                    approve=approve,
                    note=note[:2000],
                    voted_at=now,
                )
            )
            conn.execute(
                update(_table(PromotionRow))
                .where(PromotionRow.id == promotion_id)
                .values(status=status)
            )
            if status == "approved":
                conn.execute(
                    _table(StageRow).delete().where(StageRow.artifact_id == promotion.artifact_id)
                )
                conn.execute(
                    _table(StageRow)
                    .insert()
                    .values(
                        artifact_id=promotion.artifact_id,
                        stage=promotion.to_stage,
                        updated_at=now,
                    )
                )
        if status == "approved":
            self.generation += 1
        return self.promotion(promotion_id)

    def promotion(self, promotion_id: int) -> Promotion:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_table(PromotionRow)).where(PromotionRow.id == promotion_id)
            ).first()
            if row is None:
                raise LookupError(f"promotion #{promotion_id}")
            votes = conn.execute(
                select(_table(ApprovalRow))
                .where(ApprovalRow.promotion_id == promotion_id)
                .order_by(ApprovalRow.voted_at)
            ).all()
        return Promotion(
            **row._mapping,
            votes=tuple(Vote(v.voter, v.approve, v.note, v.voted_at) for v in votes),
        )

    def promotions(
        self, *, status: str | None = None, artifact_id: int | None = None
    ) -> list[Promotion]:
        query = select(PromotionRow.id).order_by(PromotionRow.id.desc()).limit(500)
        if status is not None:
            query = query.where(PromotionRow.status == status)
        if artifact_id is not None:
            query = query.where(PromotionRow.artifact_id == artifact_id)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return [self.promotion(i) for i in ids]


def _table(row: type[Base]) -> Table:
    """The Core table of a mapped class (typed, for insert/update/delete)."""
    table = row.__table__
    assert isinstance(table, Table)
    return table


def _values(row: ScanResultRow) -> dict[str, object]:
    return {c.name: getattr(row, c.name) for c in _table(ScanResultRow).columns}


def _scan(row: ScanResultRow) -> ScanRecord:
    return ScanRecord(
        artifact_id=row.artifact_id,
        status=row.status,
        max_severity=row.max_severity,
        findings=row.findings,
        quarantined=row.quarantined,
        scanned_at=row.scanned_at,
    )
