"""Registry tables in the catalog database, beside the artifacts they describe.

Alembic revision ``0003`` creates exactly these; change both together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlwarden.store.catalog.schema import Base, UtcDateTime


class ScanResultRow(Base):
    """The admission scan of one artifact version, made when it arrived."""

    __tablename__ = "scan_results"

    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    """``clean``, ``findings`` or ``error`` (the scanner could not finish: treated as unsafe)."""
    max_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    findings: Mapped[str] = mapped_column(Text)
    """The findings as a JSON list (the scanner's own report form)."""
    quarantined: Mapped[bool] = mapped_column(Boolean)
    """Set when a finding reached the server's threshold: never promoted, never served."""
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ModelCardRow(Base):
    """How to serve a model version: framework, declared input schema, architecture."""

    __tablename__ = "model_cards"

    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    framework: Mapped[str] = mapped_column(String(32))
    input_schema: Mapped[str] = mapped_column(Text)
    architecture: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference_profile: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The training data's profile (JSON) that live traffic is compared with."""


class StageRow(Base):
    """The stage a model version is in (``dev`` until promoted)."""

    __tablename__ = "model_stages"

    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PromotionRow(Base):
    """A request to move a model version to another stage, and how it was decided."""

    __tablename__ = "promotions"
    __table_args__ = (Index(None, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    """``pending``, ``approved``, ``rejected``."""
    reason: Mapped[str] = mapped_column(Text)


class ApprovalRow(Base):
    """One principal's vote on a promotion."""

    __tablename__ = "promotion_votes"

    promotion_id: Mapped[int] = mapped_column(
        ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True
    )
    voter: Mapped[str] = mapped_column(String(255), primary_key=True)
    approve: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    voted_at: Mapped[datetime] = mapped_column(UtcDateTime)
