"""The sentiment backend interface and the score -> label rule shared by all backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

LABELS = ("negative", "neutral", "positive")
UNSUPPORTED = "unsupported"
#: |score| below this is neutral (VADER's published compound thresholds).
NEUTRAL_BAND = 0.05


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """Score in [-1, 1] (None when unsupported), label, and whether the language was supported."""

    score: float | None
    label: str  # negative | neutral | positive | unsupported
    supported: bool = True


UNSUPPORTED_RESULT = SentimentResult(None, UNSUPPORTED, False)


def label_for_score(score: float) -> str:
    """negative / neutral / positive with the +-0.05 neutral band."""
    if score >= NEUTRAL_BAND:
        return "positive"
    if score <= -NEUTRAL_BAND:
        return "negative"
    return "neutral"


class SentimentBackend(Protocol):
    """What every backend offers; ``name`` is stored in ``feedback.sentiment_backend``."""

    name: str

    def supports(self, language: str | None) -> bool:
        """Whether texts in ``language`` (ISO 639-1; None = unknown) can be scored."""
        ...

    def supported_languages(self) -> list[str] | None:
        """The languages scored, or None for all."""
        ...

    def score_many(self, texts: Sequence[str], languages: Sequence[str | None],
                   embeddings: np.ndarray | None = None) -> list[SentimentResult]:
        """Score a batch; unsupported languages give ``UNSUPPORTED_RESULT``, not a guess."""
        ...


def split_supported(backend: SentimentBackend, languages: Sequence[str | None]) -> list[int]:
    """Indexes of the items whose language ``backend`` supports."""
    return [i for i, lang in enumerate(languages) if backend.supports(lang)]
