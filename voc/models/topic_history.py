"""Topic registry history: refit runs and lineage/curation events (owned by the topics work).

``topic_refits`` records every clustering run (bootstrap, weekly refit, incremental
clustering of leftovers) with its window and counts. ``topic_events`` is the
lineage of each canonical topic: created, split_from, merged_into, renamed,
hidden, moved items; curation events carry the actor. ``Topic.lineage`` keeps a
short JSON copy for display; this table is the full record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, utcnow

REFIT_KINDS = ("bootstrap", "refit", "incremental")
EVENT_KINDS = ("created", "split_from", "merged_from", "merged_into", "renamed", "hidden",
               "unhidden", "moved_in", "retired", "revived")


class TopicRefit(Base):
    """One clustering run over a window of feedback."""

    __tablename__ = "topic_refits"
    __table_args__ = (Index("ix_topic_refits_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # bootstrap | refit | incremental
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    n_docs: Mapped[int] = mapped_column(Integer, default=0)
    n_clusters: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|success|failed
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class TopicEvent(Base):
    """A lineage or curation event of a canonical topic."""

    __tablename__ = "topic_events"
    __table_args__ = (Index("ix_topic_events_topic_id_at", "topic_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(32))
    related_topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"))
    refit_id: Mapped[int | None] = mapped_column(
        ForeignKey("topic_refits.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(100))  # analyst for curation; None = system
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
