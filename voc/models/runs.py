"""Pipeline run log: one row per job execution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, utcnow


class PipelineRun(Base):
    """One execution of a pipeline job (ingest, enrich, topics, rank, alerts, ...)."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # manual | scheduler | web
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|success|failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
