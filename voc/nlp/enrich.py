"""The ``enrich`` step: language, embedding, sentiment and pain quote for new/changed items.

Incremental: only pending items, ``enriched_at IS NULL`` (new, or ingestion reset it
because the text changed) or :data:`STALE` (``voc enrich --reset``: the text is the same, so
the item stays in the full-text index while it waits, see :func:`mark_stale`). Items are
read in id order, ``batch_size`` at a time (keyset pagination), and each batch is written
with bulk statements and committed, so memory stays flat however big the corpus is and a
crash loses at most one batch. For each batch:

1. language: the source's language is kept; otherwise py3langid with a confidence floor;
2. embeddings (the configured embedder), replacing any older vector of the item;
3. sentiment with the configured backend (``unsupported`` for languages it cannot score);
4. pain quote: the most negative sentence, scored by the sentence scorer (see
   :func:`sentence_scorer`);
5. one bulk UPDATE guarded by ``content_hash``: an item re-ingested meanwhile is left
   pending for the next run instead of getting stale results.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from voc.models.base import utcnow
from voc.models.feedback import Feedback, FeedbackEmbedding
from voc.nlp import language as lang_mod
from voc.nlp.sentences import pain_quotes
from voc.nlp.sentiment import SentimentBackend, get_backend
from voc.nlp.sentiment.base import UNSUPPORTED

log = logging.getLogger(__name__)

#: ``enriched_at`` of items marked for re-enrichment with unchanged text. Not NULL, so they
#: stay in PostgreSQL's full-text index (``WHERE enriched_at IS NOT NULL``, migration 0008)
#: and searches stay fast while a whole corpus is re-enriched; older than any real run, so
#: rollups (``enriched_at > since``) see them again once they are re-enriched.
STALE = datetime(1970, 1, 1, tzinfo=UTC)


def pending_condition() -> ColumnElement[bool]:
    """Items the enrich step has to (re)do."""
    return or_(Feedback.enriched_at.is_(None), Feedback.enriched_at <= STALE)


def mark_stale(session: Session) -> int:
    """Mark every enriched item for re-enrichment (a new sentiment model, say); returns how
    many. The text is unchanged, so the items keep their place in the search index."""
    return session.execute(update(Feedback).where(Feedback.enriched_at.is_not(None))
                           .values(enriched_at=STALE)).rowcount


def resolve_backend(settings: Any, session: Session) -> SentimentBackend:
    """The configured backend; ``learned`` without a trained model falls back to VADER."""
    from voc.nlp.sentiment import BackendUnavailable

    try:
        return get_backend(settings, session)
    except BackendUnavailable as exc:
        if settings.sentiment_backend != "learned":
            raise
        log.warning("sentiment: %s; using vader until a model is trained", exc)
        return get_backend(settings, session, name="vader")


def sentence_scorer(backend: SentimentBackend) -> tuple[Callable[[list[str]], list[float | None]],
                                                       Callable[[str | None], bool]]:
    """(scorer of a flat sentence list, language filter) used for pain quotes.

    VADER and transformers score sentences themselves. The learned model needs an
    embedding per sentence, which would multiply the embedding cost, so its pain quotes
    come from VADER (English and unknown language only; other languages get none).
    """
    if backend.name.startswith("learned"):
        from voc.nlp.sentiment.vader import VaderBackend

        sent_backend: SentimentBackend = VaderBackend()
    else:
        sent_backend = backend

    def score(sentences: list[str]) -> list[float | None]:
        results = sent_backend.score_many(sentences, [None] * len(sentences))
        return [r.score for r in results]

    return score, sent_backend.supports


def _pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Feedback)
                          .where(pending_condition())) or 0


def enrich_pending(session_factory: sessionmaker[Session], settings: Any, *,
                   batch_size: int | None = None, progress: bool = False,
                   limit: int | None = None, embedder: Any = None,
                   backend: SentimentBackend | None = None) -> dict[str, Any]:
    """Enrich every pending item (:func:`pending_condition`); returns counts for the run log.

    Counts: ``processed``, ``embedded``, ``scored`` (sentiment given), ``unsupported``
    (language the backend cannot score), ``language_detected``, ``language_unknown``,
    ``pain_quotes``, ``skipped_changed`` (re-ingested meanwhile), ``batches``,
    ``languages`` (top languages with counts), ``backend``, ``seconds``.
    """
    started = time.perf_counter()
    size = batch_size or settings.enrich_batch_size
    if embedder is None:
        from voc.nlp.embeddings import embedder_for

        embedder = embedder_for(settings)
    with session_factory() as s:
        total = _pending_count(s)
        if backend is None:
            backend = resolve_backend(settings, s)
    trained_on = getattr(getattr(backend, "model", None), "embedding_model", None)
    if trained_on and trained_on != embedder.name:
        log.warning("sentiment: %s was trained on %s embeddings but enrich uses %s; "
                    "retrain with `voc sentiment train`", backend.name, trained_on, embedder.name)
    if limit is not None:
        total = min(total, limit)
    counts: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    bar = None
    if progress and total:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="enrich", unit="item")
    last_id = 0
    done = 0
    try:
        while limit is None or done < limit:
            take = size if limit is None else min(size, limit - done)
            with session_factory() as s:
                rows = s.execute(
                    select(Feedback.id, Feedback.text, Feedback.language,
                           Feedback.language_detected, Feedback.content_hash)
                    .where(pending_condition(), Feedback.id > last_id)
                    .order_by(Feedback.id).limit(take)
                ).all()
                if not rows:
                    break
                _enrich_batch(s, rows, settings, embedder, backend, counts, langs)
                s.commit()
            last_id = rows[-1].id
            done += len(rows)
            counts["batches"] += 1
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    result: dict[str, Any] = {k: counts.get(k, 0) for k in (
        "processed", "embedded", "scored", "unsupported", "language_detected",
        "language_unknown", "pain_quotes", "skipped_changed", "batches")}
    result["languages"] = dict(langs.most_common(10))
    result["backend"] = backend.name
    result["seconds"] = round(time.perf_counter() - started, 2)
    log.info("enrich: %d items in %d batches, %.1fs (%d unsupported by %s, %d changed meanwhile)",
             result["processed"], result["batches"], result["seconds"], result["unsupported"],
             backend.name, result["skipped_changed"])
    return result


def _enrich_batch(s: Session, rows: list[Any], settings: Any, embedder: Any,
                  backend: SentimentBackend, counts: Counter[str], langs: Counter[str]) -> None:
    ids = [r.id for r in rows]
    texts = [r.text or "" for r in rows]
    # a language the source gave (language_detected False) is kept; detected ones are redone
    given = [r.language if (r.language and not r.language_detected) else None for r in rows]
    resolved = lang_mod.resolve_many(texts, given, settings.language_min_confidence)

    vectors = np.asarray(embedder.encode(texts, batch_size=settings.embedding_batch_size),
                         dtype=np.float32)
    s.execute(delete(FeedbackEmbedding).where(FeedbackEmbedding.feedback_id.in_(ids)))
    now = utcnow()
    s.execute(insert(FeedbackEmbedding), [
        {"feedback_id": i, "model": embedder.name, "vector": v, "created_at": now}
        for i, v in zip(ids, vectors, strict=True)
    ])

    languages = [lang for lang, _ in resolved]
    results = backend.score_many(texts, languages, embeddings=vectors)
    scorer, sentence_ok = sentence_scorer(backend)
    eligible = [r.label != UNSUPPORTED and sentence_ok(lang)
                for r, lang in zip(results, languages, strict=True)]
    quotes = pain_quotes(texts, scorer, eligible, [r.label == "negative" for r in results])

    table = Feedback.__table__
    stmt = (update(table)
            .where(table.c.id == bindparam("b_id"), table.c.content_hash == bindparam("b_hash"))
            .values(language=bindparam("b_language"),
                    language_detected=bindparam("b_detected"),
                    sentiment_score=bindparam("b_score"), sentiment_label=bindparam("b_label"),
                    sentiment_backend=bindparam("b_backend"), pain_quote=bindparam("b_quote"),
                    enriched_at=bindparam("b_at")))
    params = [
        {"b_id": r.id, "b_hash": r.content_hash, "b_language": lang, "b_detected": detected,
         "b_score": res.score, "b_label": res.label, "b_backend": backend.name,
         "b_quote": quote, "b_at": now}
        for r, (lang, detected), res, quote in zip(rows, resolved, results, quotes, strict=True)
    ]
    updated = s.execute(stmt, params).rowcount
    # rowcount of an executemany is the total on both drivers; -1 means "unknown"
    if updated is not None and updated >= 0:
        counts["skipped_changed"] += len(rows) - updated
    counts["processed"] += len(rows)
    counts["embedded"] += len(rows)
    for (lang, detected), res, quote in zip(resolved, results, quotes, strict=True):
        langs[lang or "unknown"] += 1
        counts["language_detected"] += int(detected)
        counts["language_unknown"] += int(lang is None)
        counts["unsupported"] += int(res.label == UNSUPPORTED)
        counts["scored"] += int(res.score is not None)
        counts["pain_quotes"] += int(quote is not None)
