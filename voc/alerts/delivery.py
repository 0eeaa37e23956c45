"""Idempotent delivery: pending rows with unique keys, claims, parallel sends, retries, log.

Life of a delivery row::

    pending --claim--> sending --ok--> sent
                          |--error--> retrying (next_attempt_at = now + backoff) --claim--> ...
                          |--permanent error / attempts exhausted--> failed

* Rows are inserted as ``pending`` in their own transaction *before* anything is sent;
  the unique ``idempotency_key`` (subscription + topic + week + target) makes a re-run
  or a concurrent run insert nothing new, so the same alert is never queued twice.
* A run claims rows (``sending`` + a claim token + a lease) so two runs never send the
  same row. A row left ``sending`` by a crashed run is picked up again after its lease;
  the key travels in the ``X-Voc-Delivery`` header so receivers can drop a duplicate.
* Remote sends run in a small thread pool with timeouts: a receiver that hangs or
  answers 500 delays nobody else; each outcome is committed as soon as it is known.
* Every attempt is appended to ``alert_delivery_attempts`` (the delivery log).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from voc.alerts.notifiers import DeliveryError, SendContext, get_notifier
from voc.config import Settings
from voc.db import session_scope
from voc.models.alerts import AlertDelivery, AlertDeliveryAttempt
from voc.models.base import utcnow
from voc.models.users import User

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=15)
MAX_BACKOFF_S = 6 * 3600
KEY_BATCH = 500


@dataclass
class PlannedDelivery:
    """A message for one target, before it becomes a row."""

    key: str
    kind: str
    target: dict[str, Any]
    payload: dict[str, Any]
    subscription_id: int | None = None
    user_id: int | None = None
    topic_id: int | None = None
    week: str | None = None
    feedback_ids: list[int] = field(default_factory=list)


@dataclass
class DeliveryStats:
    """Outcome counts of one processing pass."""

    attempted: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"attempted": self.attempted, "sent": self.sent, "retrying": self.retrying,
                "failed": self.failed}


def target_fingerprint(target: dict[str, Any]) -> str:
    """A short stable hash of a target (type + config) for idempotency keys."""
    raw = json.dumps(target, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def backoff_s(settings: Settings, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (exponential, capped)."""
    return min(MAX_BACKOFF_S, settings.alerts_retry_base_s * 2 ** max(0, attempts - 1))


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` already have a delivery row (one IN query per batch)."""
    found: set[str] = set()
    for i in range(0, len(keys), KEY_BATCH):
        chunk = keys[i:i + KEY_BATCH]
        found.update(session.scalars(
            select(AlertDelivery.idempotency_key).where(AlertDelivery.idempotency_key.in_(chunk))))
    return found


def _insert_ignore(session: Session, rows: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(AlertDelivery).on_conflict_do_nothing(index_elements=["idempotency_key"])
    session.execute(stmt, rows)


def enqueue(session: Session, planned: list[PlannedDelivery], now: datetime | None = None) -> int:
    """Insert ``planned`` as pending rows, skipping keys that exist; returns how many are new.

    The caller commits (the alerts service commits them together with the alert state,
    before anything is sent).
    """
    if not planned:
        return 0
    now = now or utcnow()
    seen = existing_keys(session, [p.key for p in planned])
    rows, keys = [], set()
    for p in planned:
        if p.key in seen or p.key in keys:
            continue
        keys.add(p.key)
        rows.append({
            "idempotency_key": p.key, "kind": p.kind, "subscription_id": p.subscription_id,
            "user_id": p.user_id, "topic_id": p.topic_id, "week": p.week,
            "target_type": p.target["type"], "target": p.target, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "payload": p.payload,
            "feedback_ids": list(p.feedback_ids), "created_at": now, "updated_at": now,
        })
    if rows:
        _insert_ignore(session, rows)
    return len(rows)


def _due_clause(now: datetime):  # noqa: ANN202 - SQL expression
    return or_(
        and_(AlertDelivery.status.in_(("pending", "retrying")),
             or_(AlertDelivery.next_attempt_at.is_(None), AlertDelivery.next_attempt_at <= now)),
        and_(AlertDelivery.status == "sending", AlertDelivery.claimed_until < now),
    )


def claim_due(session_factory: sessionmaker[Session], now: datetime, *, limit: int = 500,
              ids: list[int] | None = None,
              lease: timedelta = CLAIM_LEASE) -> list[AlertDelivery]:
    """Atomically mark due rows as ``sending`` for this run (until ``now + lease``)."""
    token = uuid.uuid4().hex
    with session_scope(session_factory) as s:
        q = select(AlertDelivery.id).where(_due_clause(now)).order_by(AlertDelivery.id).limit(limit)
        if ids is not None:
            q = q.where(AlertDelivery.id.in_(ids))
        due = list(s.scalars(q))
        if not due:
            return []
        # Re-check the condition in the UPDATE: a concurrent run may have claimed some.
        s.execute(update(AlertDelivery)
                  .where(AlertDelivery.id.in_(due), _due_clause(now))
                  .values(status="sending", claim_token=token, claimed_until=now + lease,
                          updated_at=now)
                  .execution_options(synchronize_session=False))
    with session_scope(session_factory) as s:
        return list(s.scalars(select(AlertDelivery).where(AlertDelivery.claim_token == token)
                              .order_by(AlertDelivery.id)))


def _record(session_factory: sessionmaker[Session], settings: Settings, row: AlertDelivery,
            error: DeliveryError | None, duration_ms: int, now: datetime,
            stats: DeliveryStats) -> None:
    """Commit the outcome of one remote attempt as soon as it is known."""
    with session_scope(session_factory) as s:
        _apply(s, settings, s.get(AlertDelivery, row.id), row, error, duration_ms, now, stats)


def _apply(s: Session, settings: Settings, d: AlertDelivery | None, row: AlertDelivery,
           error: DeliveryError | None, duration_ms: int, now: datetime,
           stats: DeliveryStats) -> None:
    """Write one attempt's outcome on ``d`` (``row`` as claimed) in session ``s``."""
    if d is None or d.claim_token != row.claim_token:
        return  # the row was re-claimed by another run after our lease expired
    d.attempts += 1
    d.updated_at = now
    d.claim_token = None
    d.claimed_until = None
    if error is None:
        d.status, d.sent_at, d.last_error, d.next_attempt_at = "sent", now, None, None
        stats.sent += 1
    else:
        d.last_error = str(error)[:2000]
        if error.permanent or d.attempts >= settings.alerts_max_attempts:
            d.status, d.next_attempt_at = "failed", None
            stats.failed += 1
        else:
            d.status = "retrying"
            d.next_attempt_at = now + timedelta(seconds=backoff_s(settings, d.attempts))
            stats.retrying += 1
    s.add(AlertDeliveryAttempt(delivery_id=d.id, attempt=d.attempts, at=now,
                               ok=error is None, error=None if error is None else d.last_error,
                               duration_ms=duration_ms))
    log.log(logging.DEBUG if error is None else logging.WARNING,
            "delivery %s %s %s attempt %d in %d ms%s", row.id, row.target_type, d.status,
            d.attempts, duration_ms, f": {error}" if error else "")


def _timed_send(notifier: Any, row: AlertDelivery, ctx: SendContext) -> tuple[Any, int]:
    started = time.perf_counter()
    try:
        notifier.send(row.payload, row.target.get("config") or {}, ctx)
        err = None
    except DeliveryError as exc:
        err = exc
    except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop other deliveries
        err = DeliveryError(f"{type(exc).__name__}: {exc}")
    return err, int((time.perf_counter() - started) * 1000)


def process_due(session_factory: sessionmaker[Session], settings: Settings,
                now: datetime | None = None, *, batch: int = 200,
                ids: list[int] | None = None, max_batches: int = 100) -> DeliveryStats:
    """Send every due delivery once (new, retry-due, or abandoned by a crashed run).

    Works in claimed batches of ``batch`` rows until nothing is due.
    """
    now = now or utcnow()
    stats = DeliveryStats()
    started = time.perf_counter()
    # The lease must outlast the worst case of a batch (every receiver hanging until its
    # timeout), or another run could take over rows this one is still sending.
    slowest = max(settings.webhook_timeout_s, settings.smtp_timeout_s)
    workers = max(1, settings.alerts_send_workers)
    lease = max(CLAIM_LEASE, timedelta(seconds=2 * (batch / workers + 1) * slowest))
    for _ in range(max_batches):
        rows = claim_due(session_factory, now, limit=batch, ids=ids, lease=lease)
        if not rows:
            break
        stats.attempted += len(rows)
        _send_batch(session_factory, settings, rows, now, stats)
    if stats.attempted:
        log.info("deliveries: %d attempted, %d sent, %d retrying, %d failed in %.1fs",
                 stats.attempted, stats.sent, stats.retrying, stats.failed,
                 time.perf_counter() - started)
    return stats


def _send_batch(session_factory: sessionmaker[Session], settings: Settings,
                rows: list[AlertDelivery], now: datetime, stats: DeliveryStats) -> None:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    with session_scope(session_factory) as s:
        emails = dict(s.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all()) \
            if user_ids else {}

    def ctx_for(row: AlertDelivery, session: Session | None = None) -> SendContext:
        return SendContext(settings=settings, idempotency_key=row.idempotency_key,
                           delivery_id=row.id, user_id=row.user_id,
                           user_email=emails.get(row.user_id), session=session)

    remote, local = [], []
    for row in rows:
        try:
            notifier = get_notifier(row.target_type)
        except ValueError as exc:
            _record(session_factory, settings, row, DeliveryError(str(exc), permanent=True), 0,
                    now, stats)
            continue
        (local if notifier.local else remote).append((notifier, row))
    if local:
        # In-app: notifications and their 'sent' marks commit together (exactly once).
        with session_scope(session_factory) as s:
            # One query for the whole batch; no per-row SELECT (or autoflush) below.
            current = {d.id: d for d in s.scalars(
                select(AlertDelivery).where(AlertDelivery.id.in_([r.id for _, r in local])))}
            for notifier, row in local:
                try:  # the in-app notifier raises before adding anything
                    notifier.send(row.payload, row.target.get("config") or {}, ctx_for(row, s))
                    err = None
                except DeliveryError as exc:
                    err = exc
                _apply(s, settings, current.get(row.id), row, err, 0, now, stats)
    if remote:
        workers = max(1, min(settings.alerts_send_workers, len(remote)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voc-send") as pool:
            futures = {pool.submit(_timed_send, n, r, ctx_for(r)): r for n, r in remote}
            for fut in as_completed(futures):
                err, ms = fut.result()
                _record(session_factory, settings, futures[fut], err, ms, now, stats)
