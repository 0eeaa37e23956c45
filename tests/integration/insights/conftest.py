"""Hand-built feedback for insights tests: rows inserted directly (no models loaded)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from voc.insights import weeks as wk
from voc.models.feedback import Feedback, Source
from voc.models.topics import Topic


class Builder:
    """Adds sources, topics and feedback in bulk; weeks are ISO weeks in UTC."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._ids = itertools.count(1)
        self.source = Source(name=f"test-{id(self)}", type="file", kind="ticket")
        session.add(self.source)
        session.flush()

    def topic(self, label: str, centroid=None, **kw) -> Topic:  # noqa: ANN001
        t = Topic(label=label, centroid=None if centroid is None
                  else np.asarray(centroid, dtype=np.float32), **kw)
        self.s.add(t)
        self.s.flush()
        return t

    def add(self, week: str, n: int, topic: Topic | None, *, market: str | None = "DE",
            channel: str | None = "email", kind: str = "ticket", sentiment: str | None = "neutral",
            csat=None, escalated=None, resolved=None, sla_breached=None,  # noqa: ANN001
            offset_hours: float = 36.0, score: float | None = None) -> list[str]:
        """``n`` items in ``week``; ``csat`` may be a value or a list cycled over items."""
        start, _ = wk.week_bounds(week, "UTC")
        rows, ids = [], []
        csats = csat if isinstance(csat, list) else [csat]
        for i in range(n):
            ext = f"fb-{next(self._ids)}"
            ids.append(ext)
            rows.append({
                "source_id": self.source.id, "external_id": ext, "kind": kind,
                "channel": channel, "market": market, "csat": csats[i % len(csats)],
                "escalated": escalated, "resolved": resolved, "sla_breached": sla_breached,
                "created_at": start + timedelta(hours=offset_hours, minutes=i),
                "text": f"text {ext}", "content_hash": ext, "tags": [], "attributes": {},
                "sentiment_label": sentiment,
                "sentiment_score": score if score is not None else
                {"negative": -0.6, "positive": 0.6}.get(sentiment or "", 0.0),
                "topic_id": topic.id if topic is not None else None,
            })
        self.s.execute(Feedback.__table__.insert(), rows)
        return ids


@pytest.fixture
def build(session: Session) -> Builder:
    return Builder(session)
