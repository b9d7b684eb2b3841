"""Model registry: admission scans, model cards, stages, promotions and their votes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Written against ``mlwarden.registry.tables`` as of this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)


def _artifact_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["artifact_id"],
        ["artifacts.id"],
        name=f"fk_{table}_artifact_id_artifacts",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "scan_results",
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_severity", sa.String(16), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("scanned_at", _UTC, nullable=False),
        _artifact_fk("scan_results"),
        sa.PrimaryKeyConstraint("artifact_id", name="pk_scan_results"),
    )
    op.create_table(
        "model_cards",
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("framework", sa.String(32), nullable=False),
        sa.Column("input_schema", sa.Text(), nullable=False),
        sa.Column("architecture", sa.Text(), nullable=True),
        sa.Column("reference_profile", sa.Text(), nullable=True),
        _artifact_fk("model_cards"),
        sa.PrimaryKeyConstraint("artifact_id", name="pk_model_cards"),
    )
    op.create_table(
        "model_stages",
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        _artifact_fk("model_stages"),
        sa.PrimaryKeyConstraint("artifact_id", name="pk_model_stages"),
    )
    op.create_index("ix_model_stages_stage", "model_stages", ["stage"])
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=False),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", _UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _artifact_fk("promotions"),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
    )
    op.create_index("ix_promotions_status", "promotions", ["status"])
    op.create_table(
        "promotion_votes",
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(255), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("voted_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name="fk_promotion_votes_promotion_id_promotions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("promotion_id", "voter", name="pk_promotion_votes"),
    )


def downgrade() -> None:
    for table in ("promotion_votes", "promotions", "model_stages", "model_cards", "scan_results"):
        op.drop_table(table)
