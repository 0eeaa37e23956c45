"""The weekly ranking as the pages read it: the stored one, or a volume ranking until then.

The insights step stores rankings (``voc.insights.ranking.rank_week``). Until it has run on
a database (just after a first import), the pages still need weeks and a ranking: the weeks
are then those that hold feedback, and the ranking is :func:`volume_ranking`, topics ordered
by the week's volume straight from the feedback table, each item saying so in its reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights import ranking as insights_ranking
from voc.insights import weeks as wk
from voc.insights.policies import topics_for_policy
from voc.insights.rollups import SUPPORTED_LABELS, topic_resolver
from voc.models.feedback import Feedback
from voc.models.insights import Ranking as RankingRow
from voc.models.topics import Topic
from web.caches import TTLCache

#: Weeks the volume ranking looks back over for its baseline and rank change.
FALLBACK_WEEKS = 12
#: The week picker's reach when weeks come from feedback dates (one bad date must not make
#: it list centuries).
MAX_WEEKS = 520
#: Every page needs the week list; a new week appears at most once per pipeline run.
WEEKS_TTL_S = 30.0
_WEEKS: TTLCache[list[str]] = TTLCache(WEEKS_TTL_S)


def available_weeks(session: Session, settings: Settings) -> list[str]:
    """Weeks with a stored ranking, newest first; without any, the weeks that hold feedback.

    Cached per process for :data:`WEEKS_TTL_S` seconds; an empty list is not cached, so the
    weeks of a first import show at once.
    """
    weeks = _WEEKS.get(settings.database_url)
    if weeks is None:
        weeks = (insights_ranking.available_weeks(session)
                 or _feedback_weeks(session, settings.timezone))
        if weeks:
            _WEEKS.put(settings.database_url, weeks)
    return weeks


def has_rankings(session: Session) -> bool:
    """Whether the insights step has stored any ranking in this database."""
    return session.scalar(select(RankingRow.id).limit(1)) is not None


def load_ranking(session: Session, settings: Settings, week: str, *, market: str | None = None,
                 channel: str | None = None, kind: str | None = None,
                 policy: str | None = None, limit: int | None = None,
                 with_examples: bool = False) -> list[dict[str, Any]]:
    """Ranked topics of ``week`` as item dicts (docs/architecture.md keys plus extras).

    The stored ranking; :func:`volume_ranking` while the database has none at all.
    ``with_examples`` fills each item's ``examples`` (the API wants them; the page does not,
    and they cost queries).
    """
    if not has_rankings(session):
        return volume_ranking(session, settings, week, market=market, channel=channel,
                              kind=kind, policy=policy, limit=limit, with_examples=with_examples)
    return insights_ranking.load_ranking(
        session, week, market=market, channel=channel, kind=kind, policy=policy, limit=limit,
        with_examples=with_examples, settings=settings).items


def ranking_item(session: Session, settings: Settings, week: str,
                 topic_id: int) -> dict[str, Any] | None:
    """One topic's entry in the week's overall ranking (None when it is not ranked)."""
    if not has_rankings(session):
        return next((it for it in volume_ranking(session, settings, week)
                     if it["topic_id"] == topic_id), None)
    # One indexed row instead of loading the whole list.
    row = session.scalar(select(RankingRow).where(
        RankingRow.week == week, RankingRow.scope == "all", RankingRow.topic_id == topic_id))
    return insights_ranking.row_to_item(row) if row is not None else None


def volume_ranking(session: Session, settings: Settings, week: str, *,
                   market: str | None = None, channel: str | None = None,
                   kind: str | None = None, policy: str | None = None,
                   limit: int | None = None, with_examples: bool = False) -> list[dict[str, Any]]:
    """Visible topics of ``week`` ordered by volume, counted in the feedback table.

    For a database without a stored ranking. Items have the ranking's keys with plain
    figures: ``score`` is the volume; ``baseline`` the mean weekly volume over the previous
    weeks (up to :data:`FALLBACK_WEEKS` - 1, from the scope's first week with feedback);
    ``rank_change`` the move against last week's volume order (None: no volume last week);
    no flags; and one reason that says this is a simple volume ranking.
    """
    tz = settings.timezone
    weeks = wk.previous_weeks(week, FALLBACK_WEEKS - 1) + [week]
    bounds = [wk.week_bounds(w, tz) for w in weeks]
    f = Feedback

    def within(start: datetime, end: datetime) -> ColumnElement[bool]:
        return and_(f.created_at >= start, f.created_at < end)

    scope = [f.topic_id.is_not(None), *_scope_filters(market, channel, kind)]
    if policy:
        scope.append(f.topic_id.in_(topics_for_policy(session, policy)))
    this_week = within(*bounds[-1])
    # One pass over the window's rows: per topic, a count per week (week bounds computed
    # here in the configured timezone, so the SQL is the same on SQLite and PostgreSQL).
    rows = session.execute(
        select(f.topic_id,
               func.sum(case((this_week & f.sentiment_label.in_(SUPPORTED_LABELS), 1), else_=0)),
               func.sum(case((this_week & (f.sentiment_label == "negative"), 1), else_=0)),
               func.avg(case((this_week, cast(f.csat, Float)))),
               *[func.sum(case((within(*b), 1), else_=0)) for b in bounds])
        .where(within(bounds[0][0], bounds[-1][1]), *scope)
        .group_by(f.topic_id)).all()
    if not rows:
        return []
    topics = {t.id: t for t in session.scalars(select(Topic).where(
        Topic.id.in_([r[0] for r in rows]), Topic.hidden.is_(False), Topic.status != "merged"))}
    market_col = func.upper(f.market)
    markets: dict[int, list[tuple[int, str]]] = {}
    for tid, m, n in session.execute(select(f.topic_id, market_col, func.count())
                                     .where(this_week, f.market.is_not(None), *scope)
                                     .group_by(f.topic_id, market_col)):
        if m:
            markets.setdefault(tid, []).append((-n, m))
    counts = {r[0]: [int(c or 0) for c in r[4:]] for r in rows if r[0] in topics}
    # The baseline covers the weeks since the scope's first feedback in the window, so a
    # database holding three weeks does not average in eight empty ones.
    first = min((i for c in counts.values() for i, n in enumerate(c) if n), default=0)
    prior = range(first, len(weeks) - 1)
    items = []
    for tid, sent, neg, csat, *_ in rows:
        volume = counts.get(tid, [0])[-1]
        if not volume:
            continue
        base = sum(counts[tid][i] for i in prior) / len(prior) if prior else None
        items.append({
            "topic_id": tid, "label": topics[tid].display_label, "score": float(volume),
            "volume": volume, "baseline": _round(base, 2),
            "change": _round((volume - base) / base, 3) if base else None,
            "negative_share": _round(int(neg) / int(sent), 3) if sent else None,
            "csat": _round(float(csat), 2) if csat is not None else None,
            "markets": [m for _, m in sorted(markets.get(tid, []))], "flags": [],
            "reasons": [f"{volume} items this week (simple volume ranking: the insights step "
                        "has not produced a ranking yet)"],
            "sparkline": counts[tid][-insights_ranking.SPARK_WEEKS:], "examples": [],
        })
    items.sort(key=lambda it: (-it["volume"], it["label"]))
    rank = {it["topic_id"]: n for n, it in enumerate(items, start=1)}
    # Last week's order breaks volume ties by this week's rank: a tie is not a move.
    last_week = sorted((-c[-2], rank.get(tid, len(rank) + 1), topics[tid].display_label, tid)
                       for tid, c in counts.items() if c[-2])
    last_rank = {key[-1]: n for n, key in enumerate(last_week, start=1)}
    for it in items:
        tid = it["topic_id"]
        it["rank"] = rank[tid]
        it["rank_change"] = last_rank[tid] - rank[tid] if tid in last_rank else None
    items = items[:limit] if limit is not None else items
    if with_examples and items:
        examples = insights_ranking.examples_for(
            session, week, [it["topic_id"] for it in items], topic_resolver(session),
            market=market, channel=channel, kind=kind, timezone=tz)
        for it in items:
            it["examples"] = examples.get(it["topic_id"], [])
    return items


def _scope_filters(market: str | None, channel: str | None,
                   kind: str | None) -> list[ColumnElement[bool]]:
    out = []
    if market:
        out.append(func.upper(Feedback.market) == market.upper())
    if channel:
        out.append(Feedback.channel == channel)
    if kind:
        out.append(Feedback.kind == kind)
    return out


def _feedback_weeks(session: Session, tz: str) -> list[str]:
    """Weeks from the oldest to the newest feedback (at most :data:`MAX_WEEKS`), newest first."""
    lo, hi = session.execute(select(func.min(Feedback.created_at),
                                    func.max(Feedback.created_at))).one()
    if lo is None:
        return []
    first, last = (wk.iso_week(_as_datetime(v), tz) for v in (lo, hi))
    first = max(first, wk.shift_week(last, -(MAX_WEEKS - 1)))  # "YYYY-Www" sorts by time
    return wk.week_range(first, last)[::-1]


def _as_datetime(value: datetime | str) -> datetime:
    # SQLite returns MIN/MAX of a datetime column as text (the column type is bypassed).
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)
