"""Helpers for topic tests: a small synthetic corpus with clearly separated themes.

Texts come from templates per theme; their embeddings are real vectors built
around one random direction per theme (cosine to the theme centre ~0.8), so that
BERTopic, UMAP and HDBSCAN run for real without loading a language model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from voc.models.feedback import Feedback, FeedbackEmbedding, Source

THEMES = {
    "card": ["my card has not arrived yet", "when will my new card arrive",
             "card delivery is late again", "still waiting for the card in the post",
             "the replacement card never came"],
    "refund": ["i want a refund for the broken blender", "refund still not processed",
               "how long does a refund take", "please refund my order money back",
               "refund request was ignored"],
    "login": ["cannot log in to the app", "login fails with wrong password error",
              "password reset email never arrives for login", "app keeps logging me out",
              "two factor login code not working"],
    "delivery": ["parcel delivered to the wrong address", "courier lost my parcel",
                 "delivery driver left the parcel outside",
                 "tracking shows delivered parcel missing",
                 "parcel delivery took three weeks"],
    "fees": ["why was i charged a monthly fee", "unexpected fee on my statement",
             "transfer fee is too high", "hidden fees on currency exchange",
             "fee charged twice this month"],
}
DIM = 384
START = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class Item:
    text: str
    vector: np.ndarray
    theme: str
    created_at: datetime


def theme_centres(seed: int = 1) -> dict[str, np.ndarray]:
    """One random unit direction per theme (fixed seed: same centres in every test)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in THEMES:
        v = rng.normal(size=DIM)
        out[name] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def make_corpus(themes: list[str], per_theme: int, *, seed: int = 0, weeks: int = 4,
                start: datetime = START, noise: float = 0.75,
                centres: dict[str, np.ndarray] | None = None) -> list[Item]:
    """``per_theme`` items for each theme, spread over ``weeks`` weeks."""
    rng = np.random.default_rng(seed)
    centres = centres or theme_centres()
    items = []
    for theme in themes:
        for i in range(per_theme):
            tmpl = THEMES[theme][i % len(THEMES[theme])]
            v = centres[theme] + noise * rng.normal(size=DIM) / np.sqrt(DIM)
            when = start + timedelta(hours=int(rng.integers(0, weeks * 7 * 24)))
            items.append(Item(f"{tmpl} (case {seed}-{i})", (v / np.linalg.norm(v)).astype(
                np.float32), theme, when))
    return items


def insert_items(session: Session, items: list[Item], source: str = "tests") -> list[int]:
    """Store items as feedback with embeddings (bulk); returns their ids in order."""
    src = session.scalar(select(Source).where(Source.name == source))
    if src is None:
        src = Source(name=source, type="file", kind="ticket")
        session.add(src)
        session.flush()
    n0 = session.scalar(select(Feedback.id).order_by(Feedback.id.desc()).limit(1)) or 0
    rows = [{"source_id": src.id, "external_id": f"{source}-{n0 + i}", "kind": "ticket",
             "created_at": it.created_at, "text": it.text,
             "content_hash": hashlib.sha256(it.text.encode()).hexdigest(), "tags": [],
             "attributes": {}, "language_detected": False, "topic_locked": False}
            for i, it in enumerate(items)]
    session.execute(insert(Feedback), rows)
    ext = [r["external_id"] for r in rows]
    id_of = dict(session.execute(select(Feedback.external_id, Feedback.id)
                                 .where(Feedback.source_id == src.id)).all())
    ids = [id_of[e] for e in ext]
    session.execute(insert(FeedbackEmbedding),
                    [{"feedback_id": i, "model": "synthetic", "vector": it.vector}
                     for i, it in zip(ids, items, strict=True)])
    session.flush()
    return ids


@pytest.fixture
def topic_settings(settings):  # noqa: ANN001, ANN201
    """Settings for topic tests: c-TF-IDF keywords (no model load), small clusters."""
    return settings.replace(topic_representation="ctfidf", topic_min_cluster_size=8)
