"""Weekly rollups: additive sums per week x topic x market x channel x kind.

:func:`refresh` is incremental: it recomputes only the weeks that hold feedback whose
``ingested_at``, ``updated_at``, ``enriched_at`` or ``topic_assigned_at`` is newer than the
last run's watermark (the first run covers every week from the oldest to the newest item).
Each week is one ``GROUP BY`` query over a ``created_at`` range (week bounds are computed in
Python in ``settings.timezone``, so the SQL is the same on SQLite and PostgreSQL and uses the
``created_at`` index), and its rows are replaced in bulk.

:func:`rebuild_weeks` recomputes given weeks on demand (after erasure or retention purges,
which delete rows and so leave no timestamp behind).

Topic merges and hiding are *not* baked in: rows keep the raw ``topic_id`` and readers resolve
``Topic.merged_into_id`` (see :func:`topic_resolver`), so curation never needs a recompute.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Float, case, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights import weeks as wk
from voc.insights.sums import SUM_FIELDS, Sums
from voc.models.base import utcnow
from voc.models.feedback import Feedback
from voc.models.insights import NO_TOPIC, UNKNOWN, InsightState, InsightWeek, RollupSlice
from voc.models.topics import Topic

log = logging.getLogger(__name__)

SUPPORTED_LABELS = ("negative", "neutral", "positive")
BOT_CHANNELS = ("bot", "ai_agent")
WATERMARK_KEY = "rollups.watermark"
#: Re-read changes this far before the watermark: rows committed late by a concurrent writer.
WATERMARK_OVERLAP = timedelta(minutes=5)
_BATCH = 5000


def _aggregate_columns():  # noqa: ANN202
    f = Feedback
    one = 1
    bot = f.channel.in_(BOT_CHANNELS)
    csat = cast(f.csat, Float)
    return [
        func.count().label("volume"),
        func.sum(case((f.sentiment_label.in_(SUPPORTED_LABELS), one), else_=0)).label("sent_n"),
        func.sum(case((f.sentiment_label == "negative", one), else_=0)).label("neg_n"),
        func.count(f.csat).label("csat_n"),
        func.sum(csat).label("csat_sum"),
        func.sum(csat * csat).label("csat_sumsq"),
        func.sum(case((bot, one), else_=0)).label("esc_base"),
        func.sum(case((bot & f.escalated.is_(True), one), else_=0)).label("esc_n"),
        func.count(f.resolved).label("res_base"),
        func.sum(case((f.resolved.is_(True), one), else_=0)).label("res_n"),
        func.count(f.sla_breached).label("sla_base"),
        func.sum(case((f.sla_breached.is_(True), one), else_=0)).label("sla_n"),
    ]


def compute_week(session: Session, settings: Settings, week: str) -> list[dict]:
    """The rollup rows of ``week`` computed from feedback (one GROUP BY query)."""
    start, end = wk.week_bounds(week, settings.timezone)
    f = Feedback
    stmt = (
        select(f.topic_id, f.market, f.channel, f.kind, *_aggregate_columns())
        .where(f.created_at >= start, f.created_at < end)
        .group_by(f.topic_id, f.market, f.channel, f.kind)
    )
    merged: dict[tuple, Sums] = {}
    for row in session.execute(stmt):
        # Market codes are case-folded; NULL dimensions become "" (primary-key columns).
        key = (row.topic_id or NO_TOPIC, (row.market or UNKNOWN).upper(),
               row.channel or UNKNOWN, row.kind or UNKNOWN)
        merged.setdefault(key, Sums()).add(Sums.from_row(row))
    out = []
    for (topic_id, market, channel, kind), s in merged.items():
        rec = {k: getattr(s, k) for k in SUM_FIELDS}
        rec.update(week=week, topic_id=topic_id, market=market, channel=channel, kind=kind)
        out.append(rec)
    return out


def _store_week(session: Session, settings: Settings, week: str, rows: list[dict],
                now: datetime) -> None:
    session.execute(delete(RollupSlice).where(RollupSlice.week == week))
    for i in range(0, len(rows), _BATCH):
        session.execute(RollupSlice.__table__.insert(), rows[i:i + _BATCH])
    start, end = wk.week_bounds(week, settings.timezone)
    total = sum(r["volume"] for r in rows)
    row = session.get(InsightWeek, week)
    if row is None:
        session.add(InsightWeek(week=week, start_at=start, end_at=end, total=total,
                                rolled_at=now))
    else:
        row.start_at, row.end_at, row.total, row.rolled_at = start, end, total, now
    session.flush()


def _all_feedback_weeks(session: Session, settings: Settings) -> list[str]:
    lo, hi = session.execute(select(func.min(Feedback.created_at),
                                    func.max(Feedback.created_at))).one()
    if lo is None:
        return []
    lo, hi = (_aware(x) for x in (lo, hi))
    return wk.week_range(wk.iso_week(lo, settings.timezone), wk.iso_week(hi, settings.timezone))


def _aware(dt: datetime | str) -> datetime:
    from datetime import UTC

    if isinstance(dt, str):  # SQLite aggregate results bypass the column type
        dt = datetime.fromisoformat(dt)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _changed_weeks(session: Session, settings: Settings, since: datetime) -> set[str]:
    f = Feedback
    stmt = select(f.created_at).where(or_(
        f.ingested_at > since, f.updated_at > since,
        f.enriched_at > since, f.topic_assigned_at > since,
    )).execution_options(yield_per=_BATCH)
    out: set[str] = set()
    for (created,) in session.execute(stmt):
        out.add(wk.iso_week(_aware(created), settings.timezone))
    return out


def _get_state(session: Session, key: str) -> dict:
    row = session.get(InsightState, key)
    return dict(row.value) if row else {}


def _set_state(session: Session, key: str, value: dict) -> None:
    row = session.get(InsightState, key)
    if row is None:
        session.add(InsightState(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()


def _fill_gaps(session: Session, settings: Settings, todo: set[str]) -> set[str]:
    """Add missing weeks between the oldest and newest known week (empty weeks count as 0)."""
    known = set(session.scalars(select(InsightWeek.week)))
    every = known | todo
    if not every:
        return todo
    span = wk.week_range(min(every), max(every))
    return todo | (set(span) - known)


def refresh(session: Session, settings: Settings, weeks: Iterable[str] | None = None) -> dict:
    """Recompute the rollups of changed weeks (or exactly ``weeks``); returns counts.

    Counts: ``weeks`` (recomputed), ``slices`` (rows written), ``feedback`` (items rolled up),
    ``week_list`` (the weeks, oldest first). Commits nothing: the caller's transaction does.
    """
    t0 = time.perf_counter()
    now = utcnow()
    explicit = weeks is not None
    if explicit:
        todo = {w for w in weeks}
        for w in todo:
            wk.parse_week(w)
    else:
        state = _get_state(session, WATERMARK_KEY)
        if state.get("at"):
            since = datetime.fromisoformat(state["at"]) - WATERMARK_OVERLAP
            todo = _changed_weeks(session, settings, since)
        else:
            todo = set(_all_feedback_weeks(session, settings))
        todo = _fill_gaps(session, settings, todo)
    n_rows = n_items = 0
    for week in sorted(todo):
        rows = compute_week(session, settings, week)
        _store_week(session, settings, week, rows, now)
        n_rows += len(rows)
        n_items += sum(r["volume"] for r in rows)
    if not explicit:
        _set_state(session, WATERMARK_KEY, {"at": now.isoformat()})
    log.info("rollups: %d weeks, %d slices, %d items in %.2fs", len(todo), n_rows, n_items,
             time.perf_counter() - t0)
    return {"weeks": len(todo), "slices": n_rows, "feedback": n_items,
            "week_list": sorted(todo)}


def rebuild_weeks(session: Session, settings: Settings, weeks: Iterable[str]) -> dict:
    """Recompute exactly ``weeks`` (after erasure, retention or a backfill); returns counts."""
    return refresh(session, settings, weeks=list(weeks))


# --- reading ---------------------------------------------------------------------------


@dataclass
class TopicResolver:
    """Maps raw topic ids to the topic they roll into (merges), with labels and hidden ids."""

    target: dict[int, int] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)
    first_seen: dict[int, datetime | None] = field(default_factory=dict)

    def resolve(self, topic_id: int) -> int:
        return self.target.get(topic_id, topic_id)

    def members(self, topic_id: int) -> list[int]:
        """The raw ids that roll into ``topic_id`` (itself included)."""
        return [raw for raw, tgt in self.target.items() if tgt == topic_id] or [topic_id]

    def visible(self, topic_id: int) -> bool:
        return topic_id != NO_TOPIC and topic_id not in self.hidden and topic_id in self.labels


def topic_resolver(session: Session) -> TopicResolver:
    """Load the topic registry once (id, merge target, label, hidden) for read-time merging."""
    rows = session.execute(select(Topic.id, Topic.merged_into_id, Topic.label,
                                  Topic.curated_label, Topic.hidden, Topic.first_seen)).all()
    parent = {r.id: r.merged_into_id for r in rows}
    res = TopicResolver()
    for r in rows:
        res.labels[r.id] = r.curated_label or r.label
        res.first_seen[r.id] = r.first_seen
        if r.hidden:
            res.hidden.add(r.id)
    for tid in parent:
        seen, cur = {tid}, tid
        while parent.get(cur) and parent[cur] not in seen:  # follow chains, guard cycles
            cur = parent[cur]
            seen.add(cur)
        res.target[tid] = cur
    return res


def load_sums(session: Session, weeks: list[str], by: tuple[str, ...], *,
              market: str | None = None, channel: str | None = None, kind: str | None = None,
              topic_ids: Iterable[int] | None = None) -> dict[tuple, Sums]:
    """Stored sums for ``weeks`` grouped by columns ``by`` (of week, topic_id, market, ...).

    Filters are optional; ``topic_ids`` are raw ids (callers expand merges first).
    """
    r = RollupSlice
    cols = [getattr(r, c) for c in by]
    stmt = select(*cols, *[func.sum(getattr(r, k)).label(k) for k in SUM_FIELDS]).where(
        r.week.in_(weeks))
    if market:
        stmt = stmt.where(r.market == market.upper())
    if channel:
        stmt = stmt.where(r.channel == channel)
    if kind:
        stmt = stmt.where(r.kind == kind)
    if topic_ids is not None:
        stmt = stmt.where(r.topic_id.in_(list(topic_ids)))
    stmt = stmt.group_by(*cols)
    k = len(by)
    return {tuple(row[:k]): Sums.from_values(row[k:]) for row in session.execute(stmt)}


def known_weeks(session: Session) -> list[str]:
    """Weeks with rollups, oldest first."""
    return list(session.scalars(select(InsightWeek.week).order_by(InsightWeek.week)))


def merge_topics_in(sums: dict[tuple, Sums], resolver: TopicResolver,
                    topic_pos: int) -> dict[tuple, Sums]:
    """Re-key ``sums`` so that merged topics add into their target (key element ``topic_pos``)."""
    out: dict[tuple, Sums] = defaultdict(Sums)
    for key, s in sums.items():
        k = list(key)
        k[topic_pos] = resolver.resolve(k[topic_pos])
        out[tuple(k)].add(s)
    return dict(out)
