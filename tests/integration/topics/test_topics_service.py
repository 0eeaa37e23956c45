"""Topic registry end to end on SQLite and PostgreSQL: bootstrap, assignment, new topics,
refit with curation kept, and the pipeline step."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from pipelines.steps import topics as topics_step
from tests.integration.topics.conftest import START, insert_items, make_corpus
from voc.models.feedback import Feedback
from voc.models.topic_history import TopicEvent, TopicRefit
from voc.models.topics import Topic
from voc.models.users import AuditLog
from voc.nlp.topics import curation, service


def _topic_of(session, ids):  # noqa: ANN001, ANN202
    rows = dict(session.execute(select(Feedback.id, Feedback.topic_id)
                                .where(Feedback.id.in_(ids))).all())
    return [rows[i] for i in ids]


def _theme_topics(session, ids, items) -> dict[str, int]:  # noqa: ANN001
    """The majority topic of each theme."""
    by_theme: dict[str, Counter] = {}
    for tid, it in zip(_topic_of(session, ids), items, strict=True):
        by_theme.setdefault(it.theme, Counter())[tid] += 1
    return {th: c.most_common(1)[0][0] for th, c in by_theme.items()}


def _bootstrap(step_ctx, session, themes=("card", "refund", "login", "delivery"),  # noqa: ANN001, ANN202
               per_theme=40):
    items = make_corpus(list(themes), per_theme, seed=0)
    ids = insert_items(session, items)
    session.commit()
    counts = topics_step.run(step_ctx)
    return items, ids, counts


def test_bootstrap_clusters_themes_into_pure_topics(step_ctx, session, topic_settings):  # noqa: ANN001
    step_ctx.settings = topic_settings
    items, ids, counts = _bootstrap(step_ctx, session)
    assert counts["refit"] == 1 and counts["new_topics"] == 4
    assert counts["unassigned"] <= 0.10 * len(ids)
    themes = _theme_topics(session, ids, items)
    assert len(set(themes.values())) == 4  # one canonical topic per theme
    topics = {t.id: t for t in session.scalars(select(Topic))}
    for theme, tid in themes.items():
        t = topics[tid]
        assert t.size >= 36 and t.first_seen is not None and t.last_seen >= t.first_seen
        assert t.assign_threshold is not None and 0.3 <= t.assign_threshold <= 0.8
        assert theme in " ".join(t.keywords)  # keywords come from the theme's words
        assert t.label and t.lineage[0]["event"] == "created"
    # First-seen is the earliest item of the topic.
    card = themes["card"]
    earliest = min(it.created_at for it, tid in zip(items, _topic_of(session, ids), strict=True)
                   if tid == card)
    assert topics[card].first_seen == earliest


def test_new_items_join_existing_topics_and_ids_stay(step_ctx, session, topic_settings):  # noqa: ANN001
    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session)
    before = _theme_topics(session, ids, items)
    n_topics = session.scalar(select(func.count()).select_from(Topic))
    more = make_corpus(["card", "refund", "login", "delivery"], 10, seed=5,
                       start=START + timedelta(weeks=4))
    more_ids = insert_items(session, more)
    session.commit()
    counts = topics_step.run(step_ctx)
    assert "refit" not in counts and counts["assigned"] == len(more_ids)
    got = _topic_of(session, more_ids)
    assert got == [before[it.theme] for it in more]
    assert session.scalar(select(func.count()).select_from(Topic)) == n_topics
    # Scores are the cosine to the centroid and pass the topic's threshold.
    scores = session.scalars(select(Feedback.topic_score).where(Feedback.id.in_(more_ids))).all()
    assert min(scores) > 0.3


def test_far_items_stay_unassigned_until_they_form_a_new_topic(step_ctx, session,  # noqa: ANN001
                                                                topic_settings):
    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session)
    # A few items of an unseen theme: below every threshold, too few to cluster.
    few = make_corpus(["fees"], 5, seed=7, start=START + timedelta(weeks=5))
    few_ids = insert_items(session, few)
    session.commit()
    counts = topics_step.run(step_ctx)
    assert counts["assigned"] == 0 and counts["new_topics"] == 0
    assert _topic_of(session, few_ids) == [None] * 5
    # Enough of them arrive: the leftovers are clustered into one new topic.
    many = make_corpus(["fees"], 40, seed=8, start=START + timedelta(weeks=6))
    many_ids = insert_items(session, many)
    session.commit()
    counts = topics_step.run(step_ctx)
    assert counts["new_topics"] == 1
    fee_topics = Counter(_topic_of(session, few_ids + many_ids))
    fee_topic, n = fee_topics.most_common(1)[0]
    assert fee_topic is not None and n >= 0.9 * 45
    assert fee_topic not in _theme_topics(session, ids, items).values()
    t = session.get(Topic, fee_topic)
    assert t.first_seen == min(it.created_at for it, tid in
                               zip(few + many, _topic_of(session, few_ids + many_ids), strict=True)
                               if tid == fee_topic)
    kinds = session.scalars(select(TopicRefit.kind).order_by(TopicRefit.id)).all()
    assert kinds == ["bootstrap", "incremental"]


def test_refit_keeps_ids_curated_names_merges_hidden_and_moves(step_ctx, session,  # noqa: ANN001
                                                               topic_settings):
    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session,
                               themes=("card", "refund", "login", "delivery", "fees"))
    theme_topic = _theme_topics(session, ids, items)
    card, refund, login, delivery, fees = (theme_topic[k] for k in
                                           ("card", "refund", "login", "delivery", "fees"))
    curation.rename_topic(session, card, "Card not arrived", actor="ana")
    curation.hide_topic(session, login, True, actor="ana")
    curation.merge_topics(session, [fees], refund, actor="ana")
    moved_id = next(i for i, it in zip(ids, items, strict=True) if it.theme == "delivery")
    curation.move_feedback(session, moved_id, card, actor="ana")
    session.commit()
    before = dict(zip(ids, _topic_of(session, ids), strict=True))

    more = make_corpus(["card", "refund", "login", "delivery", "fees"], 20, seed=11,
                       start=START + timedelta(weeks=4))
    more_ids = insert_items(session, more)
    session.commit()
    step_ctx.options = {"refit": True}
    counts = topics_step.run(step_ctx)
    assert counts["refit"] == 1 and counts["matched"] >= 4

    topics = {t.id: t for t in session.scalars(select(Topic))}
    assert topics[card].curated_label == "Card not arrived"
    assert topics[card].display_label == "Card not arrived"
    assert topics[login].hidden is True and topics[login].status == "active"
    assert topics[fees].status == "merged" and topics[fees].merged_into_id == refund
    assert session.scalar(select(func.count()).select_from(Feedback)
                          .where(Feedback.topic_id == fees)) == 0
    # New fee items follow the merge to the target.
    new_topics = _theme_topics(session, more_ids, more)
    assert new_topics["fees"] == refund and new_topics["card"] == card
    assert new_topics["login"] == login and new_topics["delivery"] == delivery
    # The moved item stays where the analyst put it.
    moved = session.get(Feedback, moved_id)
    assert moved.topic_id == card and moved.topic_locked
    # Stability: old items keep their canonical topic (merge redirects counted as kept).
    after = dict(zip(ids, _topic_of(session, ids), strict=True))
    redirect = {fees: refund}
    changed = sum(1 for i in ids if redirect.get(before[i], before[i]) != after[i])
    assert changed <= 0.05 * len(ids), (counts, Counter(
        it.theme for i, it in zip(ids, items, strict=True)
        if redirect.get(before[i], before[i]) != after[i]))
    assert not any(t.status == "active" and t.id not in set(theme_topic.values())
                   for t in topics.values() if t.size >= 8)


def test_curation_writes_audit_and_events(session, topic_settings, step_ctx):  # noqa: ANN001
    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session, themes=("card", "refund", "login"))
    tt = _theme_topics(session, ids, items)
    curation.rename_topic(session, tt["card"], "  Late   cards ", actor="ana")
    curation.hide_topic(session, tt["login"], True, actor="bob")
    curation.merge_topics(session, [tt["login"]], tt["refund"], actor="ana")
    curation.move_feedback(session, ids[0], tt["refund"], actor="ana")
    assert session.get(Topic, tt["card"]).curated_label == "Late cards"
    actions = session.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target_id)
                              .order_by(AuditLog.id)).all()
    assert [(a.actor, a.action) for a in actions] == [
        ("ana", "topic.rename"), ("bob", "topic.hide"), ("ana", "topic.merge"),
        ("ana", "topic.move_feedback")]
    assert actions[2].target_id == str(tt["refund"])
    events = session.scalars(select(TopicEvent.event).where(TopicEvent.actor.is_not(None))).all()
    assert sorted(events) == sorted(["renamed", "hidden", "merged_from", "merged_into",
                                     "moved_in"])
    refund = session.get(Topic, tt["refund"])
    assert refund.size == session.scalar(select(func.count()).select_from(Feedback)
                                         .where(Feedback.topic_id == refund.id))
    assert any(e["event"] == "merged_from" for e in refund.lineage)
    import pytest

    with pytest.raises(curation.CurationError):
        curation.merge_topics(session, [tt["refund"]], tt["refund"], actor="ana")
    with pytest.raises(curation.CurationError):
        curation.move_feedback(session, ids[1], tt["login"], actor="ana")  # merged: not a target


def test_topic_examples_are_closest_to_centroid(session, topic_settings, step_ctx):  # noqa: ANN001
    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session, themes=("card", "refund", "login"))
    tid = _theme_topics(session, ids, items)["card"]
    ex = service.topic_examples(session, tid, limit=3)
    assert len(ex) == 3 and all(f.topic_id == tid for f in ex)
    t = session.get(Topic, tid)
    vec = {i: it.vector for i, it in zip(ids, items, strict=True)}
    c = t.centroid / np.linalg.norm(t.centroid)
    member_sims = sorted((float(vec[i] @ c) for i, tp in
                          zip(ids, _topic_of(session, ids), strict=True) if tp == tid),
                         reverse=True)
    assert [round(float(vec[f.id] @ c), 5) for f in ex] == [round(s, 5) for s in member_sims[:3]]
    week = f"{ex[0].created_at.isocalendar().year}-W{ex[0].created_at.isocalendar().week:02d}"
    in_week = service.topic_examples(session, tid, week=week, limit=50)
    assert in_week and all(f.created_at.isocalendar().week == ex[0].created_at.isocalendar().week
                           for f in in_week)
    assert service.topic_examples(session, 10**9) == []


def test_examples_for_many_topics_match_one_by_one_in_three_queries(
        session, topic_settings, step_ctx) -> None:  # noqa: ANN001
    from sqlalchemy import event

    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session, themes=("card", "refund", "login"))
    tids = sorted(set(_theme_topics(session, ids, items).values()))
    single = {tid: [f.id for f in service.topic_examples(session, tid, limit=4)] for tid in tids}
    statements: list[str] = []
    conn = session.connection()

    def count(*args) -> None:  # noqa: ANN002
        statements.append(args[2])

    event.listen(conn, "before_cursor_execute", count)
    try:
        many = service.examples_for_topics(session, [*tids, 10**9], limit=4)
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert {tid: [f.id for f in v] for tid, v in many.items()} == single
    assert len(statements) == 3  # centroids, candidates, items: not three per topic


def test_items_a_neighbour_absorbed_move_to_the_theme_the_refit_finds(step_ctx, session,  # noqa: ANN001
                                                                     topic_settings):
    """A new theme close to an old one is first absorbed by centroid assignment; the weekly
    refit then finds it, and the items placed by centroid since the last full clustering
    move to the new topic (older items never do)."""
    from sqlalchemy import update

    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session)
    theme_topic = _theme_topics(session, ids, items)
    # Permissive thresholds: every item of an unseen theme (fees) joins its nearest topic.
    session.execute(update(Topic).values(assign_threshold=-1.0))
    session.commit()
    fees = make_corpus(["fees"], 30, seed=5, start=START + timedelta(weeks=4), weeks=1)
    fee_ids = insert_items(session, fees)
    session.commit()
    counts = topics_step.run(step_ctx)
    assert counts["assigned"] == 30 and counts["new_topics"] == 0
    assert set(_topic_of(session, fee_ids)) <= set(theme_topic.values())
    before = _topic_of(session, ids)

    step_ctx.options = {"refit": True}
    counts = topics_step.run(step_ctx)
    assert counts["new_topics"] >= 1
    fee_topic, n = Counter(_topic_of(session, fee_ids)).most_common(1)[0]
    assert fee_topic not in theme_topic.values() and n >= 27
    assert session.get(Topic, fee_topic).first_seen >= START + timedelta(weeks=4)
    changed = sum(1 for a, b in zip(before, _topic_of(session, ids), strict=True) if a != b)
    assert changed <= 0.05 * len(ids)


def test_refit_folds_a_cluster_of_settled_items_into_their_topic(step_ctx, session,  # noqa: ANN001
                                                                 topic_settings):
    """A refit cluster that matches no topic's centroid but holds items settled in one
    topic is part of that theme: it folds into it instead of becoming a new topic (which
    would hold only later items and look "new")."""
    from sqlalchemy import update

    step_ctx.settings = topic_settings
    items, ids, _ = _bootstrap(step_ctx, session)
    refund = _theme_topics(session, ids, items)["refund"]
    # The refund topic's centroid drifts away (to a direction of its own): the refit's refund
    # cluster no longer matches it by centroid, though every member is settled in it.
    far = np.random.default_rng(3).normal(size=len(items[0].vector)).astype(np.float32)
    session.execute(update(Topic).where(Topic.id == refund).values(centroid=far))
    session.commit()
    before = _topic_of(session, ids)

    step_ctx.options = {"refit": True}
    counts = topics_step.run(step_ctx)
    assert counts["new_topics"] == 0
    assert session.scalar(select(func.count()).select_from(Topic)) == 4
    changed = sum(1 for a, b in zip(before, _topic_of(session, ids), strict=True) if a != b)
    assert changed <= 0.05 * len(ids)
    refit = session.scalars(select(TopicRefit).order_by(TopicRefit.id.desc()).limit(1)).one()
    assert refit.counts.get("folded") == 1
