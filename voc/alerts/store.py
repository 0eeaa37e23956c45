"""Read/write helpers other areas call: in-app notifications, delivery log, erasure scrub."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from voc.models.alerts import AlertDelivery, AlertDeliveryAttempt, Notification, Subscription
from voc.models.base import utcnow

log = logging.getLogger(__name__)

REMOVED_TEXT = "[removed at the customer's request]"


# --- in-app notifications --------------------------------------------------------------

def unread_count(session: Session, user_id: int) -> int:
    """Unread in-app notifications of a user (for the nav badge)."""
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def list_notifications(session: Session, user_id: int, *, limit: int = 50,
                       unread_only: bool = False) -> list[Notification]:
    """A user's notifications, newest first."""
    q = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return list(session.scalars(q.order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(limit)))


def mark_read(session: Session, user_id: int, ids: Iterable[int] | None = None,
              now: datetime | None = None) -> int:
    """Mark a user's notifications read (all of them when ``ids`` is None); returns count."""
    q = update(Notification).where(Notification.user_id == user_id,
                                   Notification.read_at.is_(None))
    if ids is not None:
        q = q.where(Notification.id.in_(list(ids)))
    res = session.execute(q.values(read_at=now or utcnow())
                          .execution_options(synchronize_session=False))
    return int(res.rowcount or 0)


# --- delivery log ----------------------------------------------------------------------

def _describe(target_type: str, target: dict[str, Any]) -> str:
    from voc.alerts.notifiers import get_notifier

    try:
        return get_notifier(target_type).describe(target.get("config") or {})
    except ValueError:
        return target_type


def recent_deliveries(session: Session, limit: int = 50, *, user_id: int | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
    """Newest deliveries as plain dicts for the status page (no secrets, no verbatims)."""
    q = (select(AlertDelivery, Subscription.name)
         .outerjoin(Subscription, Subscription.id == AlertDelivery.subscription_id))
    if user_id is not None:
        q = q.where(AlertDelivery.user_id == user_id)
    if status:
        q = q.where(AlertDelivery.status == status)
    rows = session.execute(q.order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc())
                           .limit(limit)).all()
    return [{
        "id": d.id, "kind": d.kind, "status": d.status, "attempts": d.attempts,
        "created_at": d.created_at, "sent_at": d.sent_at, "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error, "subscription_id": d.subscription_id,
        "subscription": name, "user_id": d.user_id, "topic_id": d.topic_id, "week": d.week,
        "target_type": d.target_type, "target": _describe(d.target_type, d.target),
        "subject": (d.payload or {}).get("subject", ""),
    } for d, name in rows]


def delivery_attempts(session: Session, delivery_id: int) -> list[AlertDeliveryAttempt]:
    """Every attempt of one delivery, oldest first."""
    return list(session.scalars(select(AlertDeliveryAttempt)
                                .where(AlertDeliveryAttempt.delivery_id == delivery_id)
                                .order_by(AlertDeliveryAttempt.attempt)))


def delivery_counts(session: Session) -> dict[str, int]:
    """Deliveries per status (status page summary)."""
    return {status: int(n) for status, n in session.execute(
        select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status))}


def retry_delivery(session: Session, delivery_id: int, now: datetime | None = None) -> bool:
    """Queue a failed delivery again (an admin fixed the receiver); returns whether it was."""
    res = session.execute(update(AlertDelivery)
                          .where(AlertDelivery.id == delivery_id,
                                 AlertDelivery.status == "failed")
                          .values(status="retrying", next_attempt_at=now or utcnow(),
                                  updated_at=now or utcnow())
                          .execution_options(synchronize_session=False))
    return bool(res.rowcount)


# --- erasure ---------------------------------------------------------------------------

_PG_QUOTING = ("SELECT t.id FROM {} t WHERE EXISTS (SELECT 1 FROM "
               "jsonb_array_elements_text(t.feedback_ids) v WHERE v IN :ids)")
_SQLITE_QUOTING = ("SELECT t.id FROM {} t WHERE EXISTS (SELECT 1 FROM "
                   "json_each(t.feedback_ids) v WHERE CAST(v.value AS TEXT) IN :ids)")
#: Fixed SQL per (dialect, table): table names never come from input.
_QUOTING_SQL = {(dialect, table): sql.format(table)
                for dialect, sql in (("postgresql", _PG_QUOTING), ("sqlite", _SQLITE_QUOTING))
                for table in ("alert_deliveries", "notifications")}


def _rows_quoting(session: Session, table: str, ids: list[str]) -> list[int]:
    """Ids of rows in ``table`` whose ``feedback_ids`` JSON array contains any of ``ids``."""
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    stmt = text(_QUOTING_SQL[(dialect, table)]).bindparams(bindparam("ids", expanding=True))
    return [int(r[0]) for r in session.execute(stmt, {"ids": ids})]


def scrub_feedback(session: Session, feedback_ids: Iterable[int]) -> dict[str, int]:
    """Remove quoted verbatims of erased feedback from stored alerts and notifications.

    Alert payloads are re-rendered from their stored content without those verbatims
    (so a pending delivery sends the scrubbed text); notifications drop the examples.
    Returns counts: ``deliveries`` and ``notifications`` scrubbed. Caller commits.
    """
    from voc.alerts.messages import AlertContent, Example, render_alert

    wanted = {int(i) for i in feedback_ids}
    if not wanted:
        return {"deliveries": 0, "notifications": 0}
    ids_text = sorted(str(i) for i in wanted)
    n_deliveries = n_notes = 0
    for i in range(0, len(ids_text), 500):
        chunk = ids_text[i:i + 500]
        delivery_ids = _rows_quoting(session, "alert_deliveries", chunk)
        for d in session.scalars(select(AlertDelivery).where(AlertDelivery.id.in_(delivery_ids))):
            payload = dict(d.payload or {})
            content = payload.get("content")
            if content:
                content = dict(content)
                content["examples"] = [e for e in content.get("examples", [])
                                       if int(e["feedback_id"]) not in wanted]
                c = AlertContent(**{**content, "examples": [Example(**e)
                                                           for e in content["examples"]]})
                payload = {**render_alert(c).payload(), "content": content}
            else:  # no stored content: blank the whole message rather than keep the text
                payload = {"subject": payload.get("subject", ""), "text": REMOVED_TEXT,
                           "html": REMOVED_TEXT, "webhook": {"text": REMOVED_TEXT},
                           "link": payload.get("link"), "unsubscribe_url": None}
            d.payload = payload
            d.feedback_ids = [f for f in d.feedback_ids or [] if int(f) not in wanted]
            n_deliveries += 1
        note_ids = _rows_quoting(session, "notifications", chunk)
        for n in session.scalars(select(Notification).where(Notification.id.in_(note_ids))):
            n.examples = [e for e in n.examples or []
                          if int(e.get("feedback_id") or -1) not in wanted]
            n.feedback_ids = [f for f in n.feedback_ids or [] if int(f) not in wanted]
            n_notes += 1
    session.flush()
    log.info("scrubbed %d deliveries and %d notifications of %d erased items",
             n_deliveries, n_notes, len(wanted))
    return {"deliveries": n_deliveries, "notifications": n_notes}
