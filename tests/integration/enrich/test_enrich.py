"""The enrich step on SQLite and PostgreSQL with the real embedder, VADER and spaCy."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from pipelines.runner import run_job
from voc.models.feedback import Feedback, FeedbackEmbedding
from voc.models.runs import PipelineRun
from voc.nlp.embeddings import embedder_for
from voc.nlp.enrich import _enrich_batch, enrich_pending

ITEMS = [
    {"text": "I love the new app, the support team was fantastic and quick."},
    {"text": "Checkout worked fine. But the delivery was three weeks late and the box was "
             "crushed! Otherwise ok."},
    {"text": "Das Paket ist nach zwei Wochen immer noch nicht angekommen, sehr ärgerlich."},
    {"text": "The invoice shows the wrong amount and nobody answers my emails.",
     "language": "fr"},  # the source says French: kept, so VADER must not score it
    {"text": "ok"},
]


def _embeddings(session_factory, ids):  # noqa: ANN001, ANN202
    with session_factory() as s:
        rows = s.execute(select(FeedbackEmbedding.feedback_id, FeedbackEmbedding.model,
                                FeedbackEmbedding.vector)
                         .where(FeedbackEmbedding.feedback_id.in_(ids))).all()
    return {r.feedback_id: (r.model, r.vector) for r in rows}


def test_enrich_then_incremental_then_reenrich_changed_text(
        session_factory, settings, add_feedback, read_feedback, change_text):  # noqa: ANN001
    ids = add_feedback(ITEMS)
    counts = enrich_pending(session_factory, settings, batch_size=2)
    assert counts["processed"] == 5 and counts["batches"] == 3
    assert counts["unsupported"] == 2 and counts["scored"] == 3
    assert counts["backend"] == "vader" and counts["skipped_changed"] == 0
    assert counts["languages"]["en"] == 2 and counts["languages"]["de"] == 1

    happy, late, german, given_fr, short = read_feedback(ids)
    assert (happy.language, happy.language_detected) == ("en", True)
    assert happy.sentiment_label == "positive" and happy.sentiment_score > 0.5
    assert happy.sentiment_backend == "vader" and happy.pain_quote is None
    assert late.pain_quote == "But the delivery was three weeks late and the box was crushed!"
    assert (german.language, german.language_detected) == ("de", True)
    assert german.sentiment_label == "unsupported" and german.sentiment_score is None
    assert german.pain_quote is None
    assert (given_fr.language, given_fr.language_detected) == ("fr", False)
    assert given_fr.sentiment_label == "unsupported"
    # too short to detect: language unknown, scored as English (VADER knows "ok")
    assert short.language is None and short.sentiment_label in ("neutral", "positive")
    assert all(f.enriched_at is not None for f in (happy, late, german, given_fr, short))

    emb = _embeddings(session_factory, ids)
    name = embedder_for(settings).name
    assert set(emb) == set(ids) and {m for m, _ in emb.values()} == {name}
    assert all(v.shape == (384,) and abs(np.linalg.norm(v) - 1) < 1e-3 for _, v in emb.values())

    # nothing pending: a second run does nothing
    again = enrich_pending(session_factory, settings)
    assert again["processed"] == 0 and again["batches"] == 0

    # re-ingest changed the text of the happy item: only that one is redone
    change_text(happy.id, "The app is broken again. Terrible update, I want a refund.")
    third = enrich_pending(session_factory, settings)
    assert third["processed"] == 1
    redone = read_feedback([happy.id])[0]
    assert redone.sentiment_label == "negative" and redone.pain_quote
    new_emb = _embeddings(session_factory, [happy.id])
    assert not np.allclose(new_emb[happy.id][1], emb[happy.id][1])
    with session_factory() as s:  # replaced, not duplicated
        n = s.scalar(select(func.count()).select_from(FeedbackEmbedding)
                     .where(FeedbackEmbedding.feedback_id == happy.id))
    assert n == 1


def test_item_changed_during_enrichment_stays_pending(
        session_factory, settings, add_feedback, read_feedback, change_text):  # noqa: ANN001
    from collections import Counter

    from voc.nlp.sentiment import get_backend

    ids = add_feedback(ITEMS[:2])
    with session_factory() as s:
        rows = s.execute(select(Feedback.id, Feedback.text, Feedback.language,
                                Feedback.language_detected, Feedback.content_hash)
                         .where(Feedback.id.in_(ids)).order_by(Feedback.id)).all()
    change_text(ids[0], "Brand new text from a re-import.")  # after we read the batch
    counts: Counter = Counter()
    with session_factory() as s:
        _enrich_batch(s, rows, settings, embedder_for(settings), get_backend(settings),
                      counts, Counter())
        s.commit()
    assert counts["skipped_changed"] == 1
    first, second = read_feedback(ids)
    assert first.enriched_at is None and first.sentiment_label is None  # redone next run
    assert second.enriched_at is not None


def test_step_through_the_runner_with_limit(step_ctx, add_feedback, session_factory):  # noqa: ANN001
    add_feedback(ITEMS)
    step_ctx.options = {"limit": 3, "batch_size": 2}
    run = run_job("enrich", step_ctx, raise_errors=True)
    assert run.status == "success"
    assert run.counts["processed"] == 3 and run.counts["batches"] == 2
    assert "en:" in run.counts["languages"]
    with session_factory() as s:
        stored = s.scalar(select(PipelineRun).where(PipelineRun.id == run.id))
        pending = s.scalar(select(func.count()).select_from(Feedback)
                           .where(Feedback.enriched_at.is_(None)))
    assert stored.counts["processed"] == 3 and pending == 2


def test_reset_marks_items_stale_and_they_stay_searchable(
        session_factory, settings, add_feedback, read_feedback):  # noqa: ANN001
    """``voc enrich --reset``: every item is redone, but its text did not change, so it keeps
    its place in the full-text index (enriched_at not NULL) while it waits."""
    from voc.models.base import utcnow
    from voc.nlp.enrich import STALE, mark_stale
    from web import search as vs

    ids = add_feedback(ITEMS)
    enrich_pending(session_factory, settings)
    before = {f.id: f.enriched_at for f in read_feedback(ids)}
    with session_factory() as s:
        assert mark_stale(s) == len(ids)
        s.commit()
    stale = read_feedback(ids)
    assert all(f.enriched_at == STALE and f.sentiment_label for f in stale)
    with session_factory() as s:
        page = vs.search_page(s, vs.VerbatimFilters.from_args({"q": "invoice"}))
        assert [f.id for f in page.items] == [ids[3]]
        # nothing counts as a backlog: the match is served by the index of enriched items
        assert vs.pg_text_match(s, Feedback.text == "x").compare(
            (Feedback.enriched_at.is_not(None)) & (Feedback.text == "x"))
    counts = enrich_pending(session_factory, settings)
    assert counts["processed"] == len(ids)
    again = read_feedback(ids)
    assert all(before[f.id] < f.enriched_at <= utcnow() for f in again)
