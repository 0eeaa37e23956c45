"""Canonical topic registry (DESIGN.md section 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, Vector, utcnow


class Topic(Base):
    """A canonical topic whose id survives refits; BERTopic ids are never exposed."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))  # generated from keywords
    curated_label: Mapped[str | None] = mapped_column(String(200))  # analyst rename wins
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    centroid: Mapped[np.ndarray | None] = mapped_column(Vector)
    size: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | merged | retired
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    lineage: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # topics area (0003): calibrated cosine threshold for assigning new items to this topic
    assign_threshold: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def display_label(self) -> str:
        """The label people see: the curated one if an analyst set it."""
        return self.curated_label or self.label
