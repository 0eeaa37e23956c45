"""VADER: the lexicon-and-rules English scorer (default backend)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from voc.nlp.sentiment.base import (
    UNSUPPORTED_RESULT,
    SentimentResult,
    label_for_score,
)

_LOCK = threading.Lock()
_ANALYZER: Any = None


def analyzer() -> Any:
    """The process-wide ``SentimentIntensityAnalyzer`` (its lexicon loads once)."""
    global _ANALYZER
    with _LOCK:
        if _ANALYZER is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _ANALYZER = SentimentIntensityAnalyzer()
        return _ANALYZER


def polarity_features(texts: Sequence[str]) -> np.ndarray:
    """VADER (neg, neu, pos, compound) per text, float32 (also used by the learned model)."""
    sia = analyzer()
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for i, text in enumerate(texts):
        p = sia.polarity_scores(text or "")
        out[i] = (p["neg"], p["neu"], p["pos"], p["compound"])
    return out


class VaderBackend:
    """English only. Unknown language (too short to detect) is scored as English."""

    name = "vader"
    languages = ("en",)

    def supports(self, language: str | None) -> bool:
        """English, or unknown."""
        return language is None or language in self.languages

    def supported_languages(self) -> list[str] | None:
        """``["en"]``."""
        return list(self.languages)

    def score(self, text: str) -> float:
        """VADER's compound score in [-1, 1]."""
        return float(analyzer().polarity_scores(text or "")["compound"])

    def score_many(self, texts: Sequence[str], languages: Sequence[str | None],
                   embeddings: np.ndarray | None = None) -> list[SentimentResult]:
        """Compound score; >= 0.05 positive, <= -0.05 negative."""
        out = []
        for text, lang in zip(texts, languages, strict=True):
            if not self.supports(lang):
                out.append(UNSUPPORTED_RESULT)
                continue
            s = self.score(text)
            out.append(SentimentResult(s, label_for_score(s)))
        return out
