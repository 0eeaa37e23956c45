"""Guarded calls into other areas after erasure or retention.

Erasure must work even when an optional area (insights, alerts, topics) is not
installed or not built yet: each hook imports its target lazily and, when the
module or function is missing, returns ``None`` and logs what was skipped so
that the report can say so. Errors *inside* a hook are not swallowed: a failed
rollup rebuild must abort the erasure transaction rather than leave stale data.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.models.feedback import Feedback
from voc.models.topics import Topic

log = logging.getLogger(__name__)


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if both exist, else None (an area not built yet)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, name, None)


def iso_week(dt: datetime, settings: Settings) -> str:
    """The ISO week of ``dt`` in the configured timezone (insights' function when present)."""
    fn = _optional("voc.insights.weeks", "iso_week")
    if fn is not None:
        return fn(dt, settings.timezone)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    year, week, _ = dt.astimezone(ZoneInfo(settings.timezone or "UTC")).isocalendar()
    return f"{year:04d}-W{week:02d}"


def rebuild_rollups(session: Session, settings: Settings, weeks: Iterable[str]) -> int | None:
    """Recompute the weekly rollups of ``weeks``; None when insights is not available."""
    weeks = sorted(set(weeks))
    if not weeks:
        return 0
    fn = _optional("voc.insights.rollups", "rebuild_weeks")
    if fn is None:
        log.warning("insights not available: rollups of %d weeks not rebuilt", len(weeks))
        return None
    fn(session, settings, weeks)
    return len(weeks)


def rerank(session: Session, settings: Settings, weeks: Iterable[str]) -> int | None:
    """Recompute stored rankings of those ``weeks`` that were ranked (their examples may
    name erased items); None when insights' ranking is not available."""
    weeks = set(weeks)
    if not weeks:
        return 0
    rank_week = _optional("voc.insights.ranking", "rank_week")
    ranked = _optional("voc.insights.ranking", "available_weeks")
    if rank_week is None or ranked is None:
        log.warning("insights ranking not available: rankings of %d weeks not refreshed",
                    len(weeks))
        return None
    todo = sorted(weeks & set(ranked(session)))
    for week in todo:
        rank_week(session, settings, week)
    return len(todo)


def scrub_alerts(session: Session, feedback_ids: Collection[int]) -> int | None:
    """Remove alert-message copies quoting ``feedback_ids``; None when alerts is missing."""
    if not feedback_ids:
        return 0
    fn = _optional("voc.alerts.store", "scrub_feedback")
    if fn is None:
        log.warning("alerts not available: alert messages not scrubbed")
        return None
    result = fn(session, list(feedback_ids))
    if isinstance(result, dict):  # {"deliveries": n, "notifications": m}
        return sum(int(n) for n in result.values())
    return int(result) if isinstance(result, int) else 0


def refresh_topic_sizes(session: Session, topic_ids: Collection[int]) -> int:
    """Recount ``Topic.size`` (topics' ``refresh_stats`` when present, else one UPDATE)."""
    ids = [t for t in topic_ids if t is not None]
    if not ids:
        return 0
    fn = _optional("voc.nlp.topics.registry", "refresh_stats")
    if fn is not None:  # the topics area's own recount (size, first/last seen)
        return int(fn(session, ids))
    count = (select(func.count()).select_from(Feedback)
             .where(Feedback.topic_id == Topic.id).scalar_subquery())
    session.execute(update(Topic).where(Topic.id.in_(ids)).values(size=count)
                    .execution_options(synchronize_session=False))
    return len(ids)
