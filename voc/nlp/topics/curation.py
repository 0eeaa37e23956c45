"""Analyst curation of topics: rename, merge, hide, move an item.

Every action writes the audit log (``voc.audit.record``) and a topic event, in the
caller's transaction. Curation survives refits because refits never touch the
fields it sets:

- rename sets ``curated_label`` (refits only rewrite the generated ``label``);
- merge marks sources ``status="merged"`` with ``merged_into_id``; their centroids
  stay, so items (and refit clusters) that resemble a merged topic land on the target;
- hide sets ``hidden`` (refits keep it; hidden topics still collect items);
- move sets ``topic_locked`` on the item, which assignment and refits skip.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voc.audit import record
from voc.models.base import utcnow
from voc.models.feedback import Feedback
from voc.models.topics import Topic
from voc.nlp.topics.registry import add_events, refresh_stats

MAX_LABEL = 200


class CurationError(ValueError):
    """A curation request that cannot be applied (unknown topic, merge into itself, ...)."""


def _get(session: Session, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise CurationError(f"topic {topic_id} does not exist")
    return topic


def rename_topic(session: Session, topic_id: int, label: str | None, actor: str) -> Topic:
    """Set (or, with an empty label, clear) the analyst's name for a topic."""
    topic = _get(session, topic_id)
    clean = " ".join((label or "").split())[:MAX_LABEL] or None
    old = topic.curated_label
    topic.curated_label = clean
    topic.updated_at = utcnow()
    add_events(session, [{"topic_id": topic.id, "event": "renamed", "actor": actor,
                          "details": {"label": clean, "previous": old}}])
    record(session, actor, "topic.rename", "topic", topic.id, label=clean, previous=old)
    session.flush()
    return topic


def hide_topic(session: Session, topic_id: int, hidden: bool, actor: str) -> Topic:
    """Hide a topic from rankings and dashboards (or show it again)."""
    topic = _get(session, topic_id)
    topic.hidden = bool(hidden)
    topic.updated_at = utcnow()
    add_events(session, [{"topic_id": topic.id, "event": "hidden" if hidden else "unhidden",
                          "actor": actor}])
    record(session, actor, "topic.hide" if hidden else "topic.unhide", "topic", topic.id)
    session.flush()
    return topic


def merge_topics(session: Session, source_ids: Iterable[int], target_id: int,
                 actor: str) -> Topic:
    """Merge ``source_ids`` into ``target_id``: their items move, their ids redirect.

    Every topic keeps its own centroid: items (and refit clusters) resembling a source
    match the source's centroid and are redirected to the target, so the target does
    not drift to a blend of themes.
    """
    sources = sorted({int(i) for i in source_ids} - {int(target_id)})
    if not sources:
        raise CurationError("nothing to merge: give at least one topic other than the target")
    target = _get(session, target_id)
    if target.status != "active":
        raise CurationError(f"topic {target_id} is {target.status} and cannot be a merge target")
    topics = [_get(session, i) for i in sources]
    for t in topics:
        if t.status == "merged":
            raise CurationError(f"topic {t.id} is already merged into {t.merged_into_id}")
    now = utcnow()
    if target.centroid is None:
        target.centroid = next((t.centroid for t in topics if t.centroid is not None), None)
    # Topics previously merged into a source now redirect to the new target directly.
    session.execute(update(Topic).where(Topic.merged_into_id.in_(sources))
                    .values(merged_into_id=target.id))
    moved = session.execute(update(Feedback).where(Feedback.topic_id.in_(sources))
                            .values(topic_id=target.id, topic_assigned_at=now)).rowcount
    for t in topics:
        t.status = "merged"
        t.merged_into_id = target.id
        t.updated_at = now
    target.updated_at = now
    session.flush()
    refresh_stats(session, [target.id, *sources])
    events = [{"topic_id": target.id, "event": "merged_from", "related_topic_id": t.id,
               "actor": actor} for t in topics]
    events += [{"topic_id": t.id, "event": "merged_into", "related_topic_id": target.id,
                "actor": actor} for t in topics]
    add_events(session, events)
    record(session, actor, "topic.merge", "topic", target.id, sources=sources, items=moved)
    session.flush()
    return target


def move_feedback(session: Session, feedback_id: int, topic_id: int | None,
                  actor: str) -> Feedback:
    """Put one item in ``topic_id`` (None: no topic) and lock it against reassignment."""
    item = session.get(Feedback, feedback_id)
    if item is None:
        raise CurationError(f"feedback {feedback_id} does not exist")
    if topic_id is not None:
        target = _get(session, topic_id)
        if target.status != "active":
            raise CurationError(f"topic {topic_id} is {target.status}; move items to an active "
                                "topic")
    old = item.topic_id
    item.topic_id = topic_id
    item.topic_locked = True
    item.topic_score = None
    item.topic_assigned_at = utcnow()
    session.flush()
    refresh_stats(session, [t for t in (old, topic_id) if t is not None])
    if topic_id is not None:
        add_events(session, [{"topic_id": topic_id, "event": "moved_in", "actor": actor,
                              "related_topic_id": old, "details": {"feedback_id": feedback_id}}])
    record(session, actor, "topic.move_feedback", "feedback", feedback_id,
           from_topic=old, to_topic=topic_id)
    session.flush()
    return item


def topic_events(session: Session, topic_id: int, limit: int = 50) -> list:
    """The newest lineage/curation events of a topic (for ``topics show`` and the web page)."""
    from voc.models.topic_history import TopicEvent

    return list(session.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic_id)
                                .order_by(TopicEvent.id.desc()).limit(limit)))
