"""Subscriptions, alert state, deliveries, notifications (owned by the alerts work)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, utcnow

SUBSCRIPTION_SCOPES = ("all", "topics", "policies", "markets", "search")
CONDITION_TYPES = ("emerging", "threshold", "search")
DELIVERY_STATUSES = ("pending", "sending", "retrying", "sent", "failed")


class Subscription(Base):
    """What a user wants to hear about, under which condition, and where to send it.

    ``scope`` holds the lists for the scope kind (``topic_ids``, ``policies``, ``markets``)
    or the saved ``search`` (q + verbatim-explorer filters); ``condition`` holds the rule
    (``type`` plus ``flags`` / ``metric`` + ``threshold`` / ``min_matches``); ``targets`` is a
    list of ``{"type": "email"|"webhook"|"in_app", "config": {...}}`` validated against the
    notifier registry's schemas when saved.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    scope_kind: Mapped[str] = mapped_column(String(16), default="topics")
    scope: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    condition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    quiet_hours: Mapped[int] = mapped_column(Integer, default=72)
    include_in_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertState(Base):
    """Per subscription and topic (or ``search`` key): ok/triggered, last fired, cursor."""

    __tablename__ = "alert_state"
    __table_args__ = (UniqueConstraint("subscription_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(64))  # "topic:<id>" or "search"
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok | triggered
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_week: Mapped[str | None] = mapped_column(String(10))
    last_reason: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[int | None] = mapped_column(BigId)  # saved search: highest feedback id seen
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertDelivery(Base):
    """One message to one target; the idempotency key makes a re-run a no-op."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="alert")  # alert | digest
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    topic_id: Mapped[int | None] = mapped_column(BigId)
    week: Mapped[str | None] = mapped_column(String(10))
    target_type: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # notifier config
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # rendered message
    feedback_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)  # quoted verbatims
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertDeliveryAttempt(Base):
    """Every send attempt of a delivery: when, outcome, error, duration (the delivery log)."""

    __tablename__ = "alert_delivery_attempts"
    __table_args__ = (Index("ix_alert_delivery_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """An in-app notification shown on the dashboard."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    topic_id: Mapped[int | None] = mapped_column(BigId)
    week: Mapped[str | None] = mapped_column(String(10))
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    feedback_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
