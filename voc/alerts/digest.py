"""Weekly digest per user: their subscribed topics' movements and the top of the ranking.

The scheduler calls :func:`send_due_digests` (hourly is fine): once the configured
weekday and hour (``settings.digest_weekday`` / ``digest_hour`` in ``settings.timezone``)
have passed in the current week, each user with digest-enabled subscriptions gets one
digest; the idempotency key (user + calendar week + target) makes later calls no-ops.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voc.alerts import weekdata
from voc.alerts.delivery import PlannedDelivery, enqueue, process_due, target_fingerprint
from voc.alerts.messages import DigestContent, DigestRow, render_digest
from voc.alerts.rules import RuleError, in_scope, rule_from_parts
from voc.alerts.service import manage_url, topic_url
from voc.alerts.tokens import unsubscribe_url
from voc.config import Settings
from voc.db import session_scope
from voc.insights.weeks import iso_week, shift_week, week_monday
from voc.models.alerts import AlertDelivery, Subscription
from voc.models.base import utcnow
from voc.models.users import User

log = logging.getLogger(__name__)


@dataclass
class DigestResult:
    """What a digest pass did."""

    due: bool
    period: str  # the calendar week the digest is for (idempotency)
    week: str | None  # the ranked week it reports on
    dry_run: bool = False
    users: int = 0
    enqueued: int = 0
    duplicates: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {"due": self.due, "period": self.period, "week": self.week or "",
                "users": self.users, "enqueued": self.enqueued, "duplicates": self.duplicates,
                "sent": self.sent, "failed": self.failed, "retrying": self.retrying}


def digest_due_at(settings: Settings, now: datetime) -> datetime:
    """When this calendar week's digest becomes due (aware, in settings.timezone)."""
    zone = ZoneInfo(settings.timezone or "UTC")
    monday = week_monday(iso_week(now, zone))
    day = monday + timedelta(days=settings.digest_weekday % 7)
    return datetime(day.year, day.month, day.day, settings.digest_hour % 24, tzinfo=zone)


def is_due(settings: Settings, now: datetime) -> bool:
    """True once this week's digest moment has passed (late runs still catch up)."""
    return now >= digest_due_at(settings, now)


def _rows(settings: Settings, items: list[dict[str, Any]], week: str) -> list[DigestRow]:
    return [DigestRow(topic_id=int(i["topic_id"]), label=str(i.get("label") or ""),
                      url=topic_url(settings, int(i["topic_id"]), week), rank=i.get("rank"),
                      rank_change=i.get("rank_change"), volume=i.get("volume"),
                      change=i.get("change"), negative_share=i.get("negative_share"),
                      flags=[str(f) for f in i.get("flags") or []])
            for i in items if i.get("topic_id") is not None]


def send_due_digests(session_factory: sessionmaker[Session], settings: Settings,
                     now: datetime | None = None, *, user: str | None = None,
                     force: bool = False, dry_run: bool | None = None,
                     ranking_loader: weekdata.RankingLoader | None = None,
                     send: bool = True) -> DigestResult:
    """Queue and send this week's digest to every user who is due (or just ``user``).

    ``force`` ignores the configured day/hour (still once per user per week).
    """
    started = time.perf_counter()
    now = now or utcnow()
    dry_run = settings.alerts_dry_run if dry_run is None else dry_run
    period = iso_week(now, settings.timezone)
    due = force or is_due(settings, now)
    result = DigestResult(due=due, period=period, week=None, dry_run=dry_run)
    if not due:
        return result
    loader = ranking_loader or weekdata.default_ranking_loader
    with session_scope(session_factory) as s:
        q = (select(Subscription, User).join(User, User.id == Subscription.user_id)
             .where(Subscription.active.is_(True), Subscription.include_in_digest.is_(True),
                    User.active.is_(True)))
        if user:
            q = q.where(User.username == user)
        by_user: dict[int, tuple[User, list[Subscription]]] = {}
        for sub, u in s.execute(q.order_by(User.id, Subscription.id)).tuples():
            by_user.setdefault(u.id, (u, []))[1].append(sub)
        result.users = len(by_user)
        if not by_user:
            return result
        # The newest complete ranked week (not the week in progress); else last week.
        result.week = week = weekdata.latest_week(s, before=period) or shift_week(period, -1)
        items = loader(s, week) if week else []
        alerts = _alerts_this_week(s, list(by_user), week)
        planned = [p for u, subs in by_user.values()
                   for p in _plan_user(settings, u, subs, items, week or period, period,
                                       alerts.get(u.id, 0))]
        result.planned = [{"key": p.key, "user_id": p.user_id, "target": p.target["type"],
                           "subject": p.payload["subject"]} for p in planned]
        if dry_run:
            for p in result.planned:
                log.info("dry run: would send digest %s to user %s via %s",
                         p["key"], p["user_id"], p["target"])
            s.rollback()
            return result
        result.enqueued = enqueue(s, planned, now)
        result.duplicates = len(planned) - result.enqueued
    if send and result.enqueued:
        stats = process_due(session_factory, settings, now)
        result.sent, result.failed, result.retrying = stats.sent, stats.failed, stats.retrying
    log.info("digest %s (week %s): %d users, %d queued, %d sent in %.1fs", period, result.week,
             result.users, result.enqueued, result.sent, time.perf_counter() - started)
    return result


def _alerts_this_week(session: Session, user_ids: list[int], week: str | None) -> dict[int, int]:
    if not user_ids or not week:
        return {}
    rows = session.execute(select(AlertDelivery.user_id, func.count())
                           .where(AlertDelivery.user_id.in_(user_ids),
                                  AlertDelivery.kind == "alert", AlertDelivery.week == week,
                                  AlertDelivery.status == "sent")
                           .group_by(AlertDelivery.user_id))
    return {int(uid): int(n) for uid, n in rows}


def _plan_user(settings: Settings, user: User, subs: list[Subscription],
               items: list[dict[str, Any]], week: str, period: str,
               n_alerts: int) -> list[PlannedDelivery]:
    mine: dict[int, dict[str, Any]] = {}
    for sub in subs:
        try:
            rule = rule_from_parts(sub.scope_kind, sub.scope, sub.condition)
        except RuleError:
            continue
        if rule.scope_kind in ("all", "search"):
            continue  # "all topics" is the top list below; searches have no topics
        for item in items:
            if item.get("topic_id") is not None and in_scope(rule, item):
                mine[int(item["topic_id"])] = item
    content = DigestContent(
        user_id=user.id, username=user.username, week=week,
        ranking_url=f"{settings.base_url.rstrip('/')}/?week={week}",
        unsubscribe_url=unsubscribe_url(settings, "digest", user.id),
        manage_url=manage_url(settings),
        subscribed=_rows(settings, sorted(mine.values(), key=lambda i: i.get("rank") or 1e9),
                         week),
        top=_rows(settings, items[: settings.digest_top_n], week),
        alerts_this_week=n_alerts)
    payload = render_digest(content).payload()
    # The user's email when known, otherwise an in-app notification.
    targets = [{"type": "email", "config": {}}] if user.email else [{"type": "in_app",
                                                                     "config": {}}]
    return [PlannedDelivery(key=f"digest:{user.id}:{period}:{target_fingerprint(t)}",
                            kind="digest", target=t, payload=payload, user_id=user.id,
                            week=week) for t in targets]


def users_with_digest(session: Session) -> dict[int, int]:
    """User id -> number of digest-enabled active subscriptions (for listings)."""
    out: dict[int, int] = defaultdict(int)
    for uid, n in session.execute(select(Subscription.user_id, func.count())
                                  .where(Subscription.active.is_(True),
                                         Subscription.include_in_digest.is_(True))
                                  .group_by(Subscription.user_id)):
        out[int(uid)] = int(n)
    return dict(out)
