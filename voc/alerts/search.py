"""Saved-search matching for subscriptions: new verbatims that match q + explorer filters.

Only rows above the subscription's cursor (the highest feedback id already seen) are
scanned, so a plain case-insensitive LIKE per query word is cheap and behaves the same
on SQLite and PostgreSQL. User input only ever reaches SQL as bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voc.models.feedback import Feedback

MAX_TERMS = 8


@dataclass
class SearchHits:
    """New matches since the cursor: how many, the newest few, the new cursor."""

    count: int
    max_id: int | None
    newest: list[Feedback]


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def apply_filters(q: Select, filters: Mapping[str, Any]) -> Select:
    """Add the explorer's filters (q, market, channel, language, sentiment, csat, topic)."""
    words = str(filters.get("q") or "").split()[:MAX_TERMS]
    for word in words:
        q = q.where(func.lower(Feedback.text).like(f"%{_like_escape(word.lower())}%", escape="\\"))
    if filters.get("market"):
        q = q.where(Feedback.market.in_([m.upper() for m in _as_list(filters["market"])]))
    if filters.get("channel"):
        q = q.where(Feedback.channel.in_(_as_list(filters["channel"])))
    if filters.get("language"):
        q = q.where(Feedback.language.in_(_as_list(filters["language"])))
    if filters.get("sentiment"):
        q = q.where(Feedback.sentiment_label.in_(_as_list(filters["sentiment"])))
    if filters.get("csat") not in (None, ""):
        raw = str(filters["csat"]).strip()
        if "-" in raw:  # a range such as "1-2"
            lo, _, hi = raw.partition("-")
            q = q.where(Feedback.csat.between(int(lo), int(hi)))
        else:
            q = q.where(Feedback.csat.in_([int(v) for v in _as_list(raw)]))
    if filters.get("topic") not in (None, ""):
        q = q.where(Feedback.topic_id.in_([int(v) for v in _as_list(filters["topic"])]))
    return q


def validate_filters(filters: Mapping[str, Any]) -> None:
    """Raise ValueError when a filter value cannot be used (csat / topic not numeric)."""
    if filters.get("csat") not in (None, ""):
        raw = str(filters["csat"]).strip()
        parts = raw.partition("-")[::2] if "-" in raw else _as_list(raw)
        if not all(p.strip().isdigit() and 1 <= int(p) <= 5 for p in parts):
            raise ValueError("csat must be 1-5, a list (1,2) or a range (1-2)")
    topic = filters.get("topic")
    if topic not in (None, "") and not all(v.isdigit() for v in _as_list(topic)):
        raise ValueError("topic must be a topic id")


def max_feedback_id(session: Session) -> int:
    """Highest feedback id now (a new saved search starts from here)."""
    return int(session.scalar(select(func.max(Feedback.id))) or 0)


def new_matches(session: Session, filters: Mapping[str, Any], cursor: int,
                newest: int = 3) -> SearchHits:
    """Matches with ``id > cursor``: count, max id, and the ``newest`` most recent items."""
    base = apply_filters(select(Feedback.id).where(Feedback.id > cursor), filters).subquery()
    count, max_id = session.execute(select(func.count(), func.max(base.c.id))).one()
    items: list[Feedback] = []
    if count:
        items = list(session.scalars(
            apply_filters(select(Feedback).where(Feedback.id > cursor), filters)
            .order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(newest)))
    return SearchHits(int(count or 0), None if max_id is None else int(max_id), items)


def explorer_url(base_url: str, filters: Mapping[str, Any]) -> str:
    """Link to the verbatim explorer with the saved search's filters."""
    params = {k: (",".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
              for k, v in filters.items() if v not in (None, "", [])}
    csat = str(params.pop("csat", "") or "")
    if csat:  # the explorer takes a range as csat_min / csat_max
        lo, _, hi = csat.partition("-") if "-" in csat else (min(csat.split(",")), "",
                                                             max(csat.split(",")))
        params["csat_min"], params["csat_max"] = lo.strip(), (hi or lo).strip()
    return f"{base_url.rstrip('/')}/verbatims?{urlencode(params)}"
