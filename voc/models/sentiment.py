"""Learned sentiment model versions (owned by the enrichment work).

Each ``voc sentiment train`` adds a row with a new ``version``; the ``learned`` backend
uses the highest one. The fitted model is stored as an ``.npz`` of plain arrays
(coefficients, IDF weights, vocabularies) written with ``allow_pickle=False`` - no pickle,
so loading a blob can never execute code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, JSONType, UTCDateTime, utcnow


class SentimentModel(Base):
    """One trained version of the ``learned`` sentiment classifier."""

    __tablename__ = "sentiment_models"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    n_train: Mapped[int] = mapped_column(Integer)
    embedding_model: Mapped[str] = mapped_column(String(64))  # embedder.name it was fitted on
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)  # supported
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # CV figures
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # C, temperature, ...
    blob: Mapped[bytes] = mapped_column(LargeBinary)  # npz, allow_pickle=False
