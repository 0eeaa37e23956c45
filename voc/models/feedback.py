"""Sources, canonical feedback items, their embeddings, and quarantined rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voc.models.base import Base, BigId, JSONType, UTCDateTime, Vector, utcnow

SOURCE_TYPES = ("file", "http", "sql")
FEEDBACK_KINDS = ("ticket", "survey", "review", "chat")


class Source(Base):
    """Where feedback comes from, with its connector settings and incremental cursor."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(16))  # file | http | sql
    kind: Mapped[str] = mapped_column(String(16), default="ticket")  # default feedback kind
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(64))  # cron "*/15 * * * *" or "every 15m"
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # watermark / cursor
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_ingest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Feedback(Base):
    """One canonical feedback item (DESIGN.md section 2) plus its enrichment."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_feedback_created_at", "created_at"),
        Index("ix_feedback_topic_created", "topic_id", "created_at"),
        Index("ix_feedback_customer_hash", "customer_hash"),
        Index("ix_feedback_enriched_at", "enriched_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))  # the source's own id
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32))
    market: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8))  # given, or detected by enrich
    language_detected: Mapped[bool] = mapped_column(Boolean, default=False)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    escalated: Mapped[bool | None] = mapped_column(Boolean)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    sla_breached: Mapped[bool | None] = mapped_column(Boolean)
    product_area: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    customer_hash: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the customer wrote it

    text: Mapped[str] = mapped_column(Text)  # redacted: the only text ever displayed
    text_raw: Mapped[str | None] = mapped_column(Text)  # only when VOC_KEEP_RAW_TEXT
    content_hash: Mapped[str] = mapped_column(String(64))  # of the canonical record
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # enrichment (reset to NULL when the text changes on re-ingest)
    sentiment_score: Mapped[float | None] = mapped_column(Float)  # [-1, 1]
    # negative | neutral | positive | unsupported (language the backend cannot score)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_backend: Mapped[str | None] = mapped_column(String(64))
    pain_quote: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # topic assignment
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    topic_score: Mapped[float | None] = mapped_column(Float)
    topic_locked: Mapped[bool] = mapped_column(Boolean, default=False)  # moved by an analyst
    topic_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[Source] = relationship(lazy="raise")


class FeedbackEmbedding(Base):
    """Sentence embedding of a feedback item (kept apart so feedback scans stay narrow)."""

    __tablename__ = "feedback_embeddings"

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[np.ndarray] = mapped_column(Vector)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quarantine(Base):
    """A row that broke an import rule: kept with its (redacted) payload and the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    source_name: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(500))  # file:line, page, cursor
    reason: Mapped[str] = mapped_column(Text)
    raw_payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | fixed | discarded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
