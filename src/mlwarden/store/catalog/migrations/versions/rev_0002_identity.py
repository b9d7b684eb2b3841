"""Identity: principals, group membership, role bindings, projects, API keys, failed logins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Written against ``mlwarden.identity.tables`` as of this revision; migrations never import
the table modules, whose classes keep changing after this file is frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)


def _principal_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["principal_id"],
        ["principals.id"],
        name=f"fk_{table}_principal_id_principals",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("oidc_subject", sa.String(255), nullable=True),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_principals"),
        sa.UniqueConstraint("name", name="uq_principals_name"),
        sa.UniqueConstraint("oidc_subject", name="uq_principals_oidc_subject"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_name", sa.String(63), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        _principal_fk("group_members"),
        sa.PrimaryKeyConstraint("group_name", "principal_id", name="pk_group_members"),
    )
    op.create_index("ix_group_members_principal_id", "group_members", ["principal_id"])
    op.create_table(
        "role_bindings",
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(63), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint(
            "subject_kind", "subject", "role", "project", name="pk_role_bindings"
        ),
    )
    op.create_table(
        "projects",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projects"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=True),
        sa.Column("last_used_at", _UTC, nullable=True),
        sa.Column("revoked_at", _UTC, nullable=True),
        _principal_fk("api_keys"),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_principal_id", "api_keys", ["principal_id"])
    op.create_table(
        "failed_logins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("principal_name", sa.String(255), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("source_ip", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_failed_logins"),
    )
    op.create_index("ix_failed_logins_principal_name_at", "failed_logins", ["principal_name", "at"])


def downgrade() -> None:
    for table in (
        "failed_logins",
        "api_keys",
        "projects",
        "role_bindings",
        "group_members",
        "principals",
    ):
        op.drop_table(table)
