"""Weekly rollups, emerging flags, rankings, policies (owned by the insights work).

Rollups are stored as *additive sums* per (week, topic, market, channel, kind) so that any
filter (a market, a channel, a policy's topics, merged topics) is a cheap SUM over stored rows
and never a scan of raw feedback. Rates are derived at read time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, utcnow

#: Stored in place of a missing market/channel/kind (primary-key columns cannot be NULL).
UNKNOWN = ""
#: ``rollup_slices.topic_id`` of feedback without a topic (counted in weekly totals).
NO_TOPIC = 0


class InsightWeek(Base):
    """One ISO week known to the rollups: its UTC bounds, total volume, freshness."""

    __tablename__ = "insight_weeks"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # "2026-W47"
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer, default=0)
    rolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ranked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RollupSlice(Base):
    """Additive weekly sums for one topic (0 = none) in one market x channel x kind."""

    __tablename__ = "rollup_slices"
    __table_args__ = (Index("ix_rollup_slices_topic_week", "topic_id", "week"),)

    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    topic_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # raw id; merges at read
    market: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    volume: Mapped[int] = mapped_column(Integer, default=0)
    sent_n: Mapped[int] = mapped_column(Integer, default=0)  # items with a supported label
    neg_n: Mapped[int] = mapped_column(Integer, default=0)
    csat_n: Mapped[int] = mapped_column(Integer, default=0)
    csat_sum: Mapped[float] = mapped_column(Float, default=0.0)
    csat_sumsq: Mapped[float] = mapped_column(Float, default=0.0)
    esc_base: Mapped[int] = mapped_column(Integer, default=0)  # bot / ai_agent items
    esc_n: Mapped[int] = mapped_column(Integer, default=0)  # ... handed over to a person
    res_base: Mapped[int] = mapped_column(Integer, default=0)  # items with resolved known
    res_n: Mapped[int] = mapped_column(Integer, default=0)
    sla_base: Mapped[int] = mapped_column(Integer, default=0)
    sla_n: Mapped[int] = mapped_column(Integer, default=0)


class Ranking(Base):
    """One ranked entry of a week's ranking in a scope ("all", "market:DE", "policy", ...)."""

    __tablename__ = "rankings"
    __table_args__ = (
        Index("ix_rankings_week_scope_rank", "week", "scope", "rank"),
        Index("ix_rankings_topic_week", "topic_id", "week"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    week: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(64))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    policy: Mapped[str | None] = mapped_column(String(100))  # policy rankings
    label: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float | None] = mapped_column(Float)  # expected volume at baseline share
    change: Mapped[float | None] = mapped_column(Float)  # (volume - baseline) / baseline
    share: Mapped[float | None] = mapped_column(Float)
    negative_share: Mapped[float | None] = mapped_column(Float)
    csat: Mapped[float | None] = mapped_column(Float)
    csat_n: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    flag_details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    markets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    components: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    drivers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sparkline: Mapped[list[int]] = mapped_column(JSONType, default=list)
    rank_change: Mapped[int | None] = mapped_column(Integer)  # None: new to the ranking
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopicPolicy(Base):
    """A topic mapped to a policy of the taxonomy by embedding similarity."""

    __tablename__ = "topic_policies"
    __table_args__ = (Index("ix_topic_policies_policy", "policy"),)

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[str] = mapped_column(String(100), primary_key=True)
    similarity: Mapped[float] = mapped_column(Float)
    mapped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InsightState(Base):
    """Small key/value state: the rollup watermark, the policy-mapping fingerprint."""

    __tablename__ = "insight_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
