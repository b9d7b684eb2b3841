"""Initial catalog schema: blobs, artifacts and labels, lineage, rewrap jobs, the ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written against ``mlwarden.store.catalog.schema`` as of this revision; migrations never
import the schema module, whose classes keep changing after this file is frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("backend_key", sa.String(255), nullable=False),
        sa.Column("blob_id", sa.LargeBinary(16), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=True),
        sa.Column("kek_provider", sa.String(32), nullable=False),
        sa.Column("kek_id", sa.String(128), nullable=False),
        sa.Column("kek_version", sa.String(64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("shredded_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("digest", name="pk_blobs"),
    )
    op.create_index("ix_blobs_kek_version", "blobs", ["kek_version"])

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("creator", sa.String(255), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("media_type", sa.String(128), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("deleted_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(["digest"], ["blobs.digest"], name="fk_artifacts_digest_blobs"),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("name", "version", name="uq_artifacts_name_version"),
    )
    op.create_index("ix_artifacts_digest", "artifacts", ["digest"])

    op.create_table(
        "artifact_labels",
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name="fk_artifact_labels_artifact_id_artifacts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", "key", name="pk_artifact_labels"),
    )
    op.create_index("ix_artifact_labels_key_value", "artifact_labels", ["key", "value"])

    op.create_table(
        "lineage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("relation", sa.String(64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage"),
        sa.UniqueConstraint(
            "source", "target", "relation", name="uq_lineage_source_target_relation"
        ),
    )
    op.create_index("ix_lineage_source", "lineage", ["source"])
    op.create_index("ix_lineage_target", "lineage", ["target"])

    op.create_table(
        "rewrap_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target_version", sa.String(64), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("finished_at", _UTC, nullable=True),
        sa.Column("cursor", sa.String(64), nullable=True),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rewrap_jobs"),
    )

    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_entries"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("signed_note", sa.Text(), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_ledger_checkpoints"),
    )
    op.create_table(
        "ledger_frontier",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_frontier"),
    )


def downgrade() -> None:
    for table in (
        "ledger_frontier",
        "ledger_checkpoints",
        "ledger_entries",
        "rewrap_jobs",
        "lineage",
        "artifact_labels",
        "artifacts",
        "blobs",
    ):
        op.drop_table(table)
