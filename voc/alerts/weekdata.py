"""The week data alerts evaluate: the ranking (insights area), policies, example verbatims.

The ranking comes from ``voc.insights.ranking.load_ranking`` (the insights area's
contract). Everything is loaded in a few batched queries per run, never per row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voc.models.feedback import Feedback, Source

log = logging.getLogger(__name__)

RankingLoader = Callable[[Session, str], list[dict[str, Any]]]


def default_ranking_loader(session: Session, week: str) -> list[dict[str, Any]]:
    """The week's overall ranking rows via the insights area's ``load_ranking``."""
    try:
        from voc.insights.ranking import load_ranking
    except ImportError:
        log.warning("voc.insights.ranking is not available: no ranking to evaluate")
        return []
    return [dict(item) for item in load_ranking(session, week).items]


def latest_week(session: Session, before: str | None = None) -> str | None:
    """The newest week with a ranking (``voc.insights.ranking.available_weeks``).

    ``before``: only weeks earlier than this one (the digest reports on complete weeks).
    """
    try:
        from voc.insights.ranking import available_weeks
    except ImportError:
        log.warning("voc.insights.ranking is not available: no ranking to evaluate")
        return None
    weeks = [w for w in available_weeks(session) if before is None or w < before]
    return weeks[0] if weeks else None


def topic_policies(session: Session, topic_ids: Iterable[int]) -> dict[int, list[str]]:
    """Policies mapped to each topic (one query); empty if the insights tables are absent."""
    ids = sorted({int(t) for t in topic_ids})
    if not ids:
        return {}
    try:
        from voc.models.insights import TopicPolicy
    except ImportError:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for tid, policy in session.execute(select(TopicPolicy.topic_id, TopicPolicy.policy)
                                       .where(TopicPolicy.topic_id.in_(ids))):
        out[int(tid)].append(policy)
    return dict(out)


def examples_for(session: Session, items: Mapping[int, Mapping[str, Any]],
                 bounds: Mapping[int, tuple[Any, Any]] | None = None,
                 n: int = 3) -> dict[int, list[Feedback]]:
    """Up to ``n`` representative (redacted) verbatims per topic.

    First the ranking's own ``examples`` ({source, id}: the source's ids, closest to the
    topic centroid); topics with fewer get the week's most negative recent items.
    """
    wanted: dict[tuple[str, str], int] = {}
    for tid, item in items.items():
        for ex in (item.get("examples") or [])[: n * 2]:
            if isinstance(ex, Mapping) and ex.get("id") is not None:
                wanted[(str(ex.get("source")), str(ex["id"]))] = tid
    out: dict[int, list[Feedback]] = defaultdict(list)
    if wanted:
        ext_ids = sorted({ext for _, ext in wanted})
        rows = session.execute(select(Feedback, Source.name).join(Source)
                               .where(Feedback.external_id.in_(ext_ids))).all()
        by_key = {(name, fb.external_id): fb for fb, name in rows}
        for tid, item in items.items():
            for ex in item.get("examples") or []:
                fb = by_key.get((str(ex.get("source")), str(ex.get("id"))))
                if fb is not None and len(out[tid]) < n:
                    out[tid].append(fb)
    missing = [tid for tid in items if len(out[tid]) < n]
    if missing:
        ranked = (select(Feedback.id.label("id"), func.row_number().over(
            partition_by=Feedback.topic_id,
            order_by=(func.coalesce(Feedback.sentiment_score, 0).asc(),
                      Feedback.created_at.desc())).label("rn"))
            .where(Feedback.topic_id.in_(missing)))
        if bounds:
            starts = [b[0] for b in bounds.values()]
            ends = [b[1] for b in bounds.values()]
            ranked = ranked.where(Feedback.created_at >= min(starts),
                                  Feedback.created_at < max(ends))
        sub = ranked.subquery()
        fill = session.scalars(select(Feedback).join(sub, sub.c.id == Feedback.id)
                               .where(sub.c.rn <= n * 2).order_by(sub.c.rn)).all()
        for fb in fill:
            have = out[fb.topic_id]
            if len(have) < n and all(h.id != fb.id for h in have):
                have.append(fb)
    return dict(out)
