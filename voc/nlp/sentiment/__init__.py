"""Sentiment: pluggable backends behind one interface (see ``base.SentimentBackend``).

``get_backend(settings, session=None)`` returns the configured backend:

- ``vader``: English only (default);
- ``transformers``: a local sequence-classification model (``VOC_SENTIMENT_MODEL_DIR``);
- ``learned``: the newest model trained by ``voc sentiment train`` (needs ``session``).

Every backend's ``score_many(texts, languages, embeddings=None)`` returns one
``SentimentResult(score, label, supported)`` per text; a language the backend does not
support gives label ``"unsupported"`` and score ``None`` instead of a guess.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from voc.nlp.sentiment.base import (
    LABELS,
    UNSUPPORTED,
    UNSUPPORTED_RESULT,
    SentimentBackend,
    SentimentResult,
    label_for_score,
)

log = logging.getLogger(__name__)

__all__ = [
    "LABELS", "UNSUPPORTED", "UNSUPPORTED_RESULT", "BackendUnavailable", "SentimentBackend",
    "SentimentResult",
    "get_backend", "label_for_score",
]

_LOCK = threading.Lock()
_TRANSFORMERS: dict[tuple, Any] = {}


class BackendUnavailable(RuntimeError):
    """The configured backend cannot be built (missing model dir, no trained model, ...)."""


def get_backend(settings: Any, session: Any = None, name: str | None = None) -> SentimentBackend:
    """The sentiment backend named by ``name`` or ``settings.sentiment_backend``.

    Heavy models are built once per process. ``learned`` needs a ``session`` to find the
    newest stored version; without a trained model it raises :class:`BackendUnavailable`.
    """
    name = name or settings.sentiment_backend
    if name == "vader":
        from voc.nlp.sentiment.vader import VaderBackend

        return VaderBackend()
    if name == "transformers":
        from voc.nlp.sentiment.transformer import TransformersBackend

        if settings.sentiment_model_dir is None:
            raise BackendUnavailable("VOC_SENTIMENT_MODEL_DIR is not set (transformers backend)")
        key = (str(settings.sentiment_model_dir), settings.sentiment_languages,
               tuple(sorted(settings.sentiment_label_map.items())), settings.sentiment_batch_size)
        with _LOCK:
            if key not in _TRANSFORMERS:
                try:
                    _TRANSFORMERS[key] = TransformersBackend(
                        settings.sentiment_model_dir, languages=settings.sentiment_languages,
                        label_map=settings.sentiment_label_map,
                        batch_size=settings.sentiment_batch_size)
                except (OSError, ValueError) as exc:
                    raise BackendUnavailable(f"transformers sentiment model: {exc}") from None
            return _TRANSFORMERS[key]
    if name == "learned":
        from voc.nlp.sentiment.learned import IncompatibleModel, LearnedBackend
        from voc.nlp.sentiment.store import NoLearnedModel, load_latest

        if session is None:
            raise BackendUnavailable("the learned backend needs a database session")
        try:
            model, version = load_latest(session)
        except (NoLearnedModel, IncompatibleModel) as exc:
            raise BackendUnavailable(str(exc)) from None
        return LearnedBackend(model, version)
    raise BackendUnavailable(f"unknown sentiment backend {name!r}")
