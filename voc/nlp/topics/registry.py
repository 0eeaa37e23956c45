"""The canonical topic registry in the database: centroids, stats and lineage events.

Everything here works in bulk: one query loads all centroids (hundreds to a few
thousand topics), statistics are recomputed with one GROUP BY, updates are
executemany batches. Merged topics keep their centroid so that items resembling
the old topic still land on the merge target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voc.models.base import utcnow
from voc.models.feedback import Feedback
from voc.models.topic_history import TopicEvent
from voc.models.topics import Topic
from voc.nlp.topics.matching import normalize

#: Events that describe where a topic came from; they are copied into ``Topic.lineage``.
LINEAGE_EVENTS = {"created", "split_from", "merged_from", "merged_into"}


@dataclass
class Registry:
    """Centroids of all topics that can receive items, with merges resolved.

    ``ids[i]`` is a topic row with a centroid; ``targets[i]`` is where items that
    match it go (itself, or the end of its ``merged_into`` chain).
    """

    ids: list[int] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    sizes: dict[int, int] = field(default_factory=dict)
    canonical: list[int] = field(default_factory=list)  # active (not merged/retired) topic ids

    @property
    def empty(self) -> bool:
        """True when no topic can receive items yet (bootstrap needed)."""
        return not self.canonical

    def unit(self) -> np.ndarray:
        """Normalised centroids."""
        return normalize(self.centroids) if len(self.ids) else self.centroids

    def canonical_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n, len(canonical)) cosine: for each canonical topic, the best of its own
        centroid and the centroids of topics merged into it."""
        col = {tid: j for j, tid in enumerate(self.canonical)}
        out = np.full((len(vectors), len(self.canonical)), -1.0, dtype=np.float32)
        if not len(self.ids) or not len(vectors):
            return out
        sims = normalize(vectors) @ self.unit().T
        for i, target in enumerate(self.targets):
            j = col.get(target)
            if j is not None:
                out[:, j] = np.maximum(out[:, j], sims[:, i])
        return out


def resolve_targets(rows: Iterable[tuple[int, int | None]]) -> dict[int, int]:
    """Map each topic id to the end of its ``merged_into`` chain (cycles stop safely)."""
    parent = dict(rows)
    out: dict[int, int] = {}
    for tid in parent:
        seen = {tid}
        cur = tid
        while parent.get(cur) is not None and parent[cur] not in seen:
            cur = parent[cur]
            seen.add(cur)
        out[tid] = cur
    return out


def load_registry(session: Session, default_threshold: float) -> Registry:
    """All topics with a centroid that are active or merged (retired ones take no items)."""
    rows = session.execute(
        select(Topic.id, Topic.status, Topic.merged_into_id, Topic.centroid,
               Topic.assign_threshold, Topic.size)
        .where(Topic.status.in_(("active", "merged"))).order_by(Topic.id)
    ).all()
    status = {r.id: r.status for r in rows}
    targets = resolve_targets((r.id, r.merged_into_id) for r in rows)
    reg = Registry()
    cents = []
    for r in rows:
        target = targets[r.id]
        if r.centroid is None or status.get(target) != "active":
            continue
        reg.ids.append(r.id)
        reg.targets.append(target)
        cents.append(r.centroid)
        reg.sizes[r.id] = r.size or 0
    reg.canonical = [r.id for r in rows if r.status == "active"]
    by_id = {r.id: r for r in rows}
    if cents:
        reg.centroids = np.stack(cents).astype(np.float32)
        # A merged topic's items go to the target, so the target's threshold applies.
        reg.thresholds = np.asarray(
            [by_id[t].assign_threshold if by_id[t].assign_threshold is not None
             else default_threshold for t in reg.targets], dtype=np.float32)
    return reg


def refresh_stats(session: Session, topic_ids: Iterable[int] | None = None) -> int:
    """Recompute size, first_seen and last_seen from the feedback table (one GROUP BY)."""
    q = (select(Feedback.topic_id, func.count(), func.min(Feedback.created_at),
                func.max(Feedback.created_at))
         .where(Feedback.topic_id.is_not(None)).group_by(Feedback.topic_id))
    ids = None if topic_ids is None else sorted(set(topic_ids))
    if ids is not None:
        if not ids:
            return 0
        q = q.where(Feedback.topic_id.in_(ids))
    stats = {r[0]: r for r in session.execute(q).all()}
    target_ids = ids if ids is not None else list(session.scalars(select(Topic.id)))
    now = utcnow()
    params = []
    for tid in target_ids:
        row = stats.get(tid)
        params.append({"id": tid, "size": int(row[1]) if row else 0,
                       "first_seen": _aware(row[2]) if row else None,
                       "last_seen": _aware(row[3]) if row else None, "updated_at": now})
    if params:
        session.execute(update(Topic), params)
    return len(params)


def _aware(value: datetime | str | None) -> datetime | None:
    # min()/max() bypass the column type on SQLite and come back as naive text.
    from voc.models.base import UTCDateTime

    return UTCDateTime().process_result_value(value, None)


def add_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert lineage/curation events and mirror lineage ones into ``Topic.lineage``.

    Each event: ``topic_id``, ``event``, optional ``related_topic_id``, ``refit_id``,
    ``actor``, ``details``.
    """
    if not events:
        return
    now = utcnow()
    rows = [{"topic_id": e["topic_id"], "event": e["event"], "at": now,
             "related_topic_id": e.get("related_topic_id"), "refit_id": e.get("refit_id"),
             "actor": e.get("actor"), "details": e.get("details") or {}} for e in events]
    from sqlalchemy import insert

    session.execute(insert(TopicEvent), rows)
    lineage = [e for e in events if e["event"] in LINEAGE_EVENTS]
    if not lineage:
        return
    topics = {t.id: t for t in session.scalars(
        select(Topic).where(Topic.id.in_({e["topic_id"] for e in lineage})))}
    for e in lineage:
        t = topics.get(e["topic_id"])
        if t is None:
            continue
        entry = {"event": e["event"], "at": now.isoformat(timespec="seconds")}
        if e.get("related_topic_id") is not None:
            entry["topic_id"] = e["related_topic_id"]
        t.lineage = [*(t.lineage or []), entry]  # new list: JSON columns track reassignment
