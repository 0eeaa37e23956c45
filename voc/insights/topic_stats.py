"""Per-topic reads for the dashboard: trend, breakdown, drivers (from stored rollups only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voc.insights import weeks as wk
from voc.insights.drivers import drivers
from voc.insights.rollups import load_sums, topic_resolver
from voc.insights.sums import Sums
from voc.models.insights import InsightWeek
from voc.models.insights import Ranking as RankingRow


def _latest_week(session: Session) -> str | None:
    return session.scalar(select(InsightWeek.week).order_by(InsightWeek.week.desc()).limit(1))


def topic_trend(session: Session, topic_id: int, weeks: int = 12,
                end_week: str | None = None) -> list[dict[str, Any]]:
    """The last ``weeks`` weeks (oldest first, ending at ``end_week`` or the newest rolled-up
    week) of a topic: volume, share, negative share, CSAT, rates, flags and rank."""
    end_week = end_week or _latest_week(session)
    if end_week is None:
        return []
    span = wk.previous_weeks(end_week, weeks - 1) + [end_week]
    members = topic_resolver(session).members(topic_id)
    per_week = load_sums(session, span, ("week",), topic_ids=members)
    totals = dict(session.execute(select(InsightWeek.week, InsightWeek.total)
                                  .where(InsightWeek.week.in_(span))).all())
    ranks = {w: (r, f) for w, r, f in session.execute(
        select(RankingRow.week, RankingRow.rank, RankingRow.flags).where(
            RankingRow.topic_id == topic_id, RankingRow.scope == "all",
            RankingRow.week.in_(span)))}
    out = []
    for w in span:
        s = per_week.get((w,), Sums())
        total = totals.get(w, 0)
        rank, flags = ranks.get(w, (None, []))
        out.append({"week": w, **s.as_dict(), "total": total,
                    "share": round(s.volume / total, 5) if total else None,
                    "rank": rank, "flags": list(flags or [])})
    return out


def topic_breakdown(session: Session, topic_id: int, week: str) -> dict[str, list[dict]]:
    """A topic's week split by market, channel and kind (each sorted by volume, largest first)."""
    wk.parse_week(week)
    members = topic_resolver(session).members(topic_id)
    out: dict[str, list[dict]] = {}
    for dim in ("market", "channel", "kind"):
        sums = load_sums(session, [week], (dim,), topic_ids=members)
        totals = load_sums(session, [week], (dim,))
        topic_total = sum(s.volume for s in sums.values())
        rows = []
        for (value,), s in sums.items():
            dim_total = totals.get((value,), Sums()).volume
            rows.append({dim: value or None, **s.as_dict(),
                         "share_of_topic": round(s.volume / topic_total, 4) if topic_total
                         else None,
                         "share_of_" + dim: round(s.volume / dim_total, 5) if dim_total
                         else None})
        rows.sort(key=lambda r: (-r["volume"], str(r[dim])))
        out[dim + "s"] = rows
    return out


def topic_drivers(session: Session, topic_id: int, week: str) -> dict[str, Any]:
    """CSAT impact and automation opportunity of a topic in ``week`` (see voc.insights.drivers),
    plus the per-channel escalation numbers behind the automation figure."""
    wk.parse_week(week)
    members = topic_resolver(session).members(topic_id)
    topic = load_sums(session, [week], ("week",), topic_ids=members).get((week,), Sums())
    overall = load_sums(session, [week], ("week",)).get((week,), Sums())
    out = drivers(topic, overall)
    out.update(week=week, topic_id=topic_id, volume=topic.volume)
    return out
