"""Values for the filter drop-downs of the ranking page and the verbatim explorer."""

from __future__ import annotations

import logging

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights.policies import load_policies
from voc.models.feedback import Feedback, Source
from voc.models.insights import RollupSlice
from web.caches import TTLCache

log = logging.getLogger(__name__)

#: Drop-down values change with imports and taxonomy edits: a few minutes late is fine.
OPTIONS_TTL_S = 300.0
_DISTINCT: TTLCache[dict[str, list[str]]] = TTLCache(OPTIONS_TTL_S)
_TITLES: TTLCache[dict[str, str]] = TTLCache(OPTIONS_TTL_S)


def filter_options(session: Session, settings: Settings) -> dict[str, list]:
    """``markets``, ``channels``, ``kinds``, ``languages``, ``sources`` (sorted names) and
    ``policies`` (``(name, title)`` pairs sorted by title). A new dict on every call."""
    titles = policy_titles(settings)
    return {**distinct_values(session, settings),
            "policies": sorted(titles.items(), key=lambda kv: kv[1].lower())}


def distinct_values(session: Session, settings: Settings) -> dict[str, list[str]]:
    """Markets, channels, kinds, languages and sources that occur in the data (cached).

    Markets, channels and kinds come from the small rollup table once it has rows (a
    DISTINCT over millions of feedback rows is a full scan).
    """
    out = _DISTINCT.get(settings.database_url)
    if out is not None:
        return out
    rolled_up = session.scalar(select(RollupSlice.week).limit(1)) is not None
    table = RollupSlice if rolled_up else Feedback
    out = {name: sorted(v for v in session.scalars(select(getattr(table, col)).distinct()) if v)
           for name, col in (("markets", "market"), ("channels", "channel"), ("kinds", "kind"))}
    # Languages are not in the rollups; a sample of recent rows is enough for a drop-down.
    recent = select(Feedback.language).order_by(Feedback.id.desc()).limit(20000).subquery()
    out["languages"] = sorted(v for v in session.scalars(select(recent.c.language).distinct())
                              if v)
    out["sources"] = sorted(session.scalars(select(Source.name)))
    return _DISTINCT.put(settings.database_url, out)


def policy_titles(settings: Settings) -> dict[str, str]:
    """Policy name -> title from the taxonomy (cached); empty when the taxonomy is unusable."""
    key = str(settings.policy_taxonomy_path)
    titles = _TITLES.get(key)
    if titles is None:
        titles = _TITLES.put(key, _load_titles(settings))
    return titles


def _load_titles(settings: Settings) -> dict[str, str]:
    try:
        policies = load_policies(settings)
    except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
        # A broken taxonomy file costs the policy filter, not the ranking and search pages.
        log.warning("policy taxonomy unusable, no policy filter: %s", exc)
        return {}
    return {p.name: p.title for p in policies}
