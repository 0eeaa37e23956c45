"""Erasure tombstones: what was erased must not come back on re-ingest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, UTCDateTime, utcnow


class Tombstone(Base):
    """An erased item (source + external id) and/or customer; ingest skips matches."""

    __tablename__ = "tombstones"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_tombstones_customer_hash", "customer_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    customer_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64), default="erasure")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
