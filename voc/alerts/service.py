"""The alerts run: evaluate subscriptions on a week's ranking, queue deliveries, send them.

``run_alerts`` is what the ``alerts`` pipeline step and ``voc alerts run`` call:

1. load the week's ranking (latest ranked week unless one is given) and the active
   subscriptions with their state, in a few queries;
2. evaluate each subscription with the pure rules; respect the quiet period;
3. render messages and, in ONE transaction, insert the pending deliveries (unique
   idempotency keys) together with the updated alert state;
4. send everything that is due (new rows, retries whose backoff elapsed) — see delivery.py.

A dry run stops after step 2/3's rendering: nothing is written or sent, the would-be
deliveries are logged and returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voc.alerts import search as alert_search
from voc.alerts import weekdata
from voc.alerts.delivery import PlannedDelivery, enqueue, process_due, target_fingerprint
from voc.alerts.messages import AlertContent, Example, render_alert
from voc.alerts.notifiers import get_notifier
from voc.alerts.rules import (
    Match,
    Rule,
    RuleError,
    evaluate,
    evaluate_search,
    rule_from_parts,
    should_fire,
)
from voc.alerts.tokens import unsubscribe_url
from voc.config import Settings
from voc.db import session_scope
from voc.models.alerts import AlertState, Subscription
from voc.models.base import utcnow
from voc.models.feedback import Feedback
from voc.models.topics import Topic
from voc.models.users import User

log = logging.getLogger(__name__)

N_EXAMPLES = 3
NUMBER_KEYS = ("rank", "rank_change", "volume", "baseline", "change", "negative_share", "csat")


@dataclass
class AlertRunResult:
    """What a run did; ``planned`` lists the would-be deliveries (always filled)."""

    week: str | None
    dry_run: bool
    subscriptions: int = 0
    fired: int = 0
    suppressed_quiet: int = 0
    rearmed: int = 0
    enqueued: int = 0
    duplicates: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """Flat counts for the pipeline run log."""
        return {"week": self.week or "", "dry_run": self.dry_run,
                "subscriptions": self.subscriptions, "fired": self.fired,
                "suppressed_quiet": self.suppressed_quiet, "rearmed": self.rearmed,
                "enqueued": self.enqueued, "duplicates": self.duplicates, "sent": self.sent,
                "retrying": self.retrying, "failed": self.failed}


@dataclass
class _Firing:
    sub: Subscription
    key: str  # state key: "topic:<id>" | "search"
    reason: str
    match: Match | None = None
    examples: list[Feedback] = field(default_factory=list)
    cursor: int | None = None
    search_url: str | None = None


def topic_url(settings: Settings, topic_id: int, week: str) -> str:
    """Dashboard link to a topic in a week."""
    return f"{settings.base_url.rstrip('/')}/topics/{topic_id}?week={week}"


def manage_url(settings: Settings) -> str:
    """Dashboard link to the user's subscriptions."""
    return f"{settings.base_url.rstrip('/')}/alerts/subscriptions"


def _example(fb: Feedback) -> Example:
    return Example(feedback_id=int(fb.id), text=fb.text, market=fb.market, channel=fb.channel,
                   created_at=fb.created_at.date().isoformat() if fb.created_at else None)


def _content(settings: Settings, week: str, f: _Firing) -> AlertContent:
    sub = f.sub
    common = dict(subscription_id=sub.id, subscription_name=sub.name, week=week,
                  reason=f.reason, unsubscribe_url=unsubscribe_url(settings, "subscription",
                                                                   sub.id),
                  manage_url=manage_url(settings),
                  examples=[_example(fb) for fb in f.examples])
    if f.match is None:  # saved search
        return AlertContent(topic_url=f.search_url or manage_url(settings), **common)
    item = f.match.item
    numbers = {k: item.get(k) for k in NUMBER_KEYS if item.get(k) is not None}
    return AlertContent(topic_url=topic_url(settings, f.match.topic_id, week),
                        topic_id=f.match.topic_id, label=f.match.label,
                        reasons=[str(r) for r in item.get("reasons") or []],
                        flags=[str(x) for x in item.get("flags") or []], numbers=numbers,
                        **common)


def _plan(settings: Settings, week: str, f: _Firing) -> list[PlannedDelivery]:
    content = _content(settings, week, f)
    payload = {**render_alert(content).payload(), "content": content.as_dict()}
    # Search alerts are keyed by the newest matched item, so new matches alert again later.
    event = f"{f.key}:{week}" if f.key != "search" else f"search:{f.cursor}"
    return [PlannedDelivery(
        key=f"alert:{f.sub.id}:{event}:{target_fingerprint(t)}", kind="alert", target=t,
        payload=payload, subscription_id=f.sub.id, user_id=f.sub.user_id,
        topic_id=f.match.topic_id if f.match else None, week=week,
        feedback_ids=content.feedback_ids) for t in f.sub.targets]


def _load_subscriptions(session: Session) -> list[tuple[Subscription, User]]:
    return list(session.execute(
        select(Subscription, User).join(User, User.id == Subscription.user_id)
        .where(Subscription.active.is_(True), User.active.is_(True))
        .order_by(Subscription.id)).tuples())


def _load_states(session: Session, sub_ids: list[int]) -> dict[tuple[int, str], AlertState]:
    if not sub_ids:
        return {}
    rows = session.scalars(select(AlertState).where(AlertState.subscription_id.in_(sub_ids)))
    return {(s.subscription_id, s.key): s for s in rows}


def evaluate_all(session: Session, settings: Settings, week: str | None,
                 items: list[dict[str, Any]], now: datetime,
                 result: AlertRunResult) -> tuple[list[_Firing], list[tuple[int, str]]]:
    """Evaluate every active subscription; returns firings and (sub, key) pairs to re-arm."""
    subs = _load_subscriptions(session)
    result.subscriptions = len(subs)
    states = _load_states(session, [s.id for s, _ in subs])
    rules: dict[int, Rule] = {}
    for sub, _ in subs:
        try:
            rules[sub.id] = rule_from_parts(sub.scope_kind, sub.scope, sub.condition)
        except RuleError as exc:  # saved before a rule change; skip, do not crash the run
            log.warning("subscription %s has an invalid rule (%s); skipped", sub.id, exc)
    rules = _follow_merges(session, rules)
    policies = {}
    if any(r.scope_kind == "policies" for r in rules.values()):
        policies = weekdata.topic_policies(session, [i["topic_id"] for i in items
                                                     if i.get("topic_id") is not None])
    firings: list[_Firing] = []
    rearm: list[tuple[int, str]] = []
    for sub, _user in subs:
        rule = rules.get(sub.id)
        if rule is None:
            continue
        if rule.condition == "search":
            firing = _evaluate_search(session, settings, sub, rule, states, now, result)
            if firing:
                firings.append(firing)
            continue
        if week is None:
            continue
        fired_keys = set()
        for m in evaluate(rule, items, policies):
            key = f"topic:{m.topic_id}"
            fired_keys.add(key)
            state = states.get((sub.id, key))
            if state is not None and state.last_week == week:
                continue  # already alerted for this topic and week
            if state is not None and not should_fire(state.last_fired_at, now, sub.quiet_hours):
                result.suppressed_quiet += 1
                continue
            firings.append(_Firing(sub=sub, key=key, reason=m.reason, match=m))
        for (sid, key), state in states.items():
            if sid == sub.id and key != "search" and state.state == "triggered" \
                    and key not in fired_keys:
                rearm.append((sid, key))
    if firings:
        by_topic = {f.match.topic_id: f.match.item for f in firings if f.match}
        bounds = None
        if week and by_topic:
            from voc.insights.weeks import week_bounds

            bounds = {t: week_bounds(week, settings.timezone) for t in by_topic}
        examples = weekdata.examples_for(session, by_topic, bounds, N_EXAMPLES)
        for f in firings:
            if f.match:
                f.examples = examples.get(f.match.topic_id, [])
    return firings, rearm


def _follow_merges(session: Session, rules: dict[int, Rule]) -> dict[int, Rule]:
    """Subscribed topics that analysts merged away also watch the topic they went into."""
    ids = {t for r in rules.values() for t in r.topic_ids}
    if not ids:
        return rules
    merged: dict[int, int] = {}
    frontier = ids
    for _ in range(5):  # merge chains are short; bounded to be safe
        rows = dict(session.execute(select(Topic.id, Topic.merged_into_id).where(
            Topic.id.in_(frontier), Topic.merged_into_id.is_not(None))).all())
        if not rows:
            break
        merged.update(rows)
        frontier = set(rows.values()) - set(merged)
    if not merged:
        return rules

    def final(t: int) -> int:
        seen = set()
        while t in merged and t not in seen:
            seen.add(t)
            t = merged[t]
        return t

    return {sid: replace(r, topic_ids=r.topic_ids | {final(t) for t in r.topic_ids})
            if r.topic_ids else r for sid, r in rules.items()}


def _evaluate_search(session: Session, settings: Settings, sub: Subscription, rule: Rule,
                     states: Mapping[tuple[int, str], AlertState], now: datetime,
                     result: AlertRunResult) -> _Firing | None:
    state = states.get((sub.id, "search"))
    cursor = state.cursor if state is not None and state.cursor is not None else None
    if cursor is None:
        return None  # created without a cursor: the service sets one on first write
    hits = alert_search.new_matches(session, rule.search, cursor, N_EXAMPLES)
    reason = evaluate_search(rule, hits.count)
    if not reason:
        return None
    if not should_fire(state.last_fired_at if state else None, now, sub.quiet_hours):
        result.suppressed_quiet += 1  # keep the cursor: the matches are reported later
        return None
    return _Firing(sub=sub, key="search", reason=reason, examples=hits.newest,
                   cursor=hits.max_id,
                   search_url=alert_search.explorer_url(settings.base_url, rule.search))


def _write_state(session: Session, firings: list[_Firing], rearm: list[tuple[int, str]],
                 week: str | None, now: datetime) -> None:
    sub_ids = sorted({f.sub.id for f in firings} | {sid for sid, _ in rearm})
    states = _load_states(session, sub_ids)
    for f in firings:
        st = states.get((f.sub.id, f.key))
        if st is None:
            st = AlertState(subscription_id=f.sub.id, key=f.key)
            session.add(st)
            states[(f.sub.id, f.key)] = st
        st.state, st.last_fired_at, st.last_reason, st.updated_at = "triggered", now, \
            f.reason[:2000], now
        st.last_week = week if f.key != "search" else st.last_week
        if f.cursor is not None:
            st.cursor = f.cursor
    for key in rearm:
        st = states.get(key)
        if st is not None:
            st.state, st.updated_at = "ok", now


def run_alerts(session_factory: sessionmaker[Session], settings: Settings, *,
               week: str | None = None, now: datetime | None = None,
               dry_run: bool | None = None,
               ranking_loader: weekdata.RankingLoader | None = None,
               send: bool = True) -> AlertRunResult:
    """Evaluate all subscriptions for ``week`` (default: latest ranked) and deliver.

    Idempotent: re-running for the same week queues and sends nothing new.
    ``dry_run`` (default ``settings.alerts_dry_run``) writes and sends nothing.
    """
    started = time.perf_counter()
    now = now or utcnow()
    dry_run = settings.alerts_dry_run if dry_run is None else dry_run
    loader = ranking_loader or weekdata.default_ranking_loader
    with session_scope(session_factory) as s:
        needs_ranking = s.scalar(select(Subscription.id).where(
            Subscription.active.is_(True), Subscription.scope_kind != "search").limit(1))
        # No topic subscriptions: do not load the ranking (or the insights libraries).
        if week is None and needs_ranking:
            week = weekdata.latest_week(s)
        items = loader(s, week) if week and needs_ranking else []
        result = AlertRunResult(week=week, dry_run=dry_run)
        firings, rearm = evaluate_all(s, settings, week, items, now, result)
        from voc.insights.weeks import iso_week

        planned: list[PlannedDelivery] = []
        for f in firings:
            planned.extend(_plan(settings, week or iso_week(now, settings.timezone), f))
        result.fired = len(firings)
        result.rearmed = len(rearm)
        result.planned = [{"key": p.key, "subscription_id": p.subscription_id,
                           "topic_id": p.topic_id, "week": p.week,
                           "target_type": p.target["type"],
                           "target": get_notifier(p.target["type"]).describe(
                               p.target.get("config") or {}),
                           "subject": p.payload["subject"]} for p in planned]
        if dry_run:
            for p in result.planned:
                # The target type only: descriptions can hold email addresses.
                log.info("dry run: would send %s to subscription %s via %s, topic %s week %s",
                         p["key"], p["subscription_id"], p["target_type"], p["topic_id"],
                         p["week"])
            s.rollback()
            log.info("alerts dry run for %s: %d subscriptions, %d firing, %d deliveries "
                     "planned in %.1fs", week, result.subscriptions, result.fired,
                     len(planned), time.perf_counter() - started)
            return result
        # State and pending deliveries commit together, before anything is sent.
        _write_state(s, firings, rearm, week, now)
        result.enqueued = enqueue(s, planned, now)
        result.duplicates = len(planned) - result.enqueued
        if result.subscriptions:
            s.execute(update(Subscription).where(Subscription.active.is_(True))
                      .values(last_evaluated_at=now)
                      .execution_options(synchronize_session=False))
    if send:
        stats = process_due(session_factory, settings, now)
        result.sent, result.retrying, result.failed = stats.sent, stats.retrying, stats.failed
    log.info("alerts for %s: %d subscriptions, %d firing (%d quiet), %d queued, %d sent, "
             "%d retrying, %d failed in %.1fs", week, result.subscriptions, result.fired,
             result.suppressed_quiet, result.enqueued, result.sent, result.retrying,
             result.failed, time.perf_counter() - started)
    return result
