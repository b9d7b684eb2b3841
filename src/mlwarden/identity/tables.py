"""Identity tables in the catalog database: principals, groups, bindings, projects, keys.

Alembic revision ``0002`` creates exactly these; change both together. Only
:mod:`mlwarden.identity.store` reads and writes them, and hands out frozen records.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mlwarden.store.catalog.schema import Base, UtcDateTime


class PrincipalRow(Base):
    """A user or service account. Rows are disabled, never deleted, so names stay taken."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Random hex, so ids reveal neither order nor count."""
    name: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    """``user`` or ``service``."""
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    """The ``sub`` claim of this principal at the configured OpenID provider."""
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The TOTP seed, AES-GCM encrypted (nonce then ciphertext); NULL when not enrolled."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The newest TOTP time step accepted; that step and older ones are refused (replay)."""


class GroupMemberRow(Base):
    """One principal's membership of a group; a group exists while it has members or bindings."""

    __tablename__ = "group_members"

    group_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RoleBindingRow(Base):
    """A role granted to a principal or a group in one project, or in every project (``*``)."""

    __tablename__ = "role_bindings"

    subject_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``principal`` or ``group``."""
    subject: Mapped[str] = mapped_column(String(63), primary_key=True)
    """The principal's or the group's name."""
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    project: Mapped[str] = mapped_column(String(63), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProjectRow(Base):
    """A project: the unit role bindings are scoped to."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiKeyRow(Base):
    """An API key: its public id and the argon2id hash of its secret, never the secret."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(255))
    """argon2id hash (PHC string) of the whole plaintext key."""
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """Updated at most once a minute, so busy keys do not write on every request."""
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class FailedLoginRow(Base):
    """One failed sign-in, counted to throttle guessing (the name may not exist)."""

    __tablename__ = "failed_logins"
    __table_args__ = (Index(None, "principal_name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_name: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    source_ip: Mapped[str] = mapped_column(String(64))
