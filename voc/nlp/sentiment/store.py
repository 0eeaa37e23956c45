"""Versioned storage of learned sentiment models, and training from the database."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voc.models.feedback import Feedback, FeedbackEmbedding
from voc.models.sentiment import SentimentModel
from voc.nlp.sentiment.learned import LearnedModel, csat_to_label, fit_learned

log = logging.getLogger(__name__)

_CACHE_LOCK = threading.Lock()
_CACHE: dict[tuple[str, int], LearnedModel] = {}  # (blob sha1, version) -> model


class NoLearnedModel(LookupError):
    """No learned sentiment model has been trained yet (run ``voc sentiment train``)."""


def latest_version(session: Session) -> SentimentModel | None:
    """The newest stored model row (without loading the blob into a model)."""
    return session.scalars(
        select(SentimentModel).order_by(SentimentModel.version.desc()).limit(1)
    ).first()


def list_versions(session: Session) -> list[SentimentModel]:
    """All stored versions, newest first."""
    return list(session.scalars(select(SentimentModel).order_by(SentimentModel.version.desc())))


def load_latest(session: Session) -> tuple[LearnedModel, int]:
    """The newest model and its version; the parsed model is cached per process."""
    row = latest_version(session)
    if row is None:
        raise NoLearnedModel("no learned sentiment model yet: run `voc sentiment train`")
    # the blob's digest: two databases in one process may both hold a "version 1"
    key = (hashlib.sha1(row.blob).hexdigest(), row.version)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = LearnedModel.from_bytes(row.blob)
            _CACHE.clear()  # keep only the newest in memory
            _CACHE[key] = model
    return model, row.version


def save_model(session: Session, model: LearnedModel) -> SentimentModel:
    """Store ``model`` as the next version (the caller commits)."""
    current = session.scalar(select(func.max(SentimentModel.version)))
    row = SentimentModel(version=(current or 0) + 1, n_train=model.n_train,
                         embedding_model=model.embedding_model, languages=model.languages,
                         metrics=model.metrics, params=model.params, blob=model.to_bytes())
    session.add(row)
    session.flush()
    return row


def training_rows(session: Session, embedding_model: str, *, max_rows: int,
                  batch_size: int = 5000) -> tuple[list[str], list[int], list[str | None],
                                                    np.ndarray, list[int]]:
    """Newest ``max_rows`` items with a CSAT score: texts, labels, languages, embeddings.

    Items without a stored embedding of ``embedding_model`` come back with a NaN row (the
    caller embeds them). Read in id batches so memory holds only what is trained on.
    """
    ids = list(session.scalars(
        select(Feedback.id).where(Feedback.csat.between(1, 5))
        .order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(max_rows)
    ))
    ids.sort()
    texts: list[str] = []
    labels: list[int] = []
    langs: list[str | None] = []
    vecs: list[np.ndarray] = []
    for b in range(0, len(ids), batch_size):
        chunk = ids[b:b + batch_size]
        rows = session.execute(
            select(Feedback.id, Feedback.text, Feedback.csat, Feedback.language,
                   FeedbackEmbedding.vector)
            .outerjoin(FeedbackEmbedding, (FeedbackEmbedding.feedback_id == Feedback.id)
                       & (FeedbackEmbedding.model == embedding_model))
            .where(Feedback.id.in_(chunk)).order_by(Feedback.id)
        ).all()
        for _id, text, csat, lang, vec in rows:
            texts.append(text or "")
            labels.append(csat_to_label(csat))
            langs.append(lang)
            vecs.append(vec)
    dim = next((len(v) for v in vecs if v is not None), 0)
    emb = np.full((len(texts), dim or 1), np.nan, dtype=np.float32)
    missing = []
    for i, v in enumerate(vecs):
        if v is None:
            missing.append(i)
        else:
            emb[i] = v
    return texts, labels, langs, emb, missing


def train_from_db(session: Session, settings: Any, *, embedder: Any = None,
                  max_rows: int | None = None, seed: int = 0) -> SentimentModel:
    """Fit the learned model on CSAT-labelled feedback and store it as a new version.

    Items that lack a stored embedding are embedded now (not stored: that is enrich's job).
    Raises ``ValueError`` when there are too few labelled items or a class is missing.
    """
    if embedder is None:
        from voc.nlp.embeddings import embedder_for

        embedder = embedder_for(settings)
    started = time.perf_counter()
    limit = max_rows or settings.sentiment_train_max_rows
    texts, labels, langs, emb, missing = training_rows(session, embedder.name, max_rows=limit)
    if not texts:
        raise ValueError("no feedback with a CSAT score (1-5) to learn from")
    if missing:
        vecs = embedder.encode([texts[i] for i in missing],
                               batch_size=settings.embedding_batch_size)
        if emb.shape[1] != vecs.shape[1]:
            emb = np.full((len(texts), vecs.shape[1]), np.nan, dtype=np.float32) \
                if len(missing) == len(texts) else emb
        emb[missing] = vecs
    model = fit_learned(texts, labels, emb, embedding_model=embedder.name, languages=langs,
                        min_language_rows=settings.sentiment_min_language_rows, seed=seed)
    model.metrics["embedded_now"] = len(missing)
    row = save_model(session, model)
    log.info("learned sentiment v%d stored: %d items, %.1fs", row.version, len(texts),
             time.perf_counter() - started)
    return row
