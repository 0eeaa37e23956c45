"""Language identification (offline, py3langid), normalised to ISO 639-1.

``detect(text)`` returns a two-letter code or ``None`` when the text is too short or the
identifier is not confident enough (``"ok"``, ``"thanks!"``, emoji, numbers): a guess on
such text is usually wrong, and a wrong language would make sentiment say "unsupported"
for text it could score. ``resolve_many`` keeps a language the source gave and detects the
rest, telling which ones were detected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

#: Below this normalised probability the detection is discarded.
DEFAULT_MIN_CONFIDENCE = 0.6
#: Texts with fewer letters than this are not detected at all.
MIN_LETTERS = 8

# ISO 639-2/3 and common names -> ISO 639-1, for languages given by sources.
_ALIASES = {
    "eng": "en", "english": "en", "deu": "de", "ger": "de", "german": "de", "deutsch": "de",
    "fra": "fr", "fre": "fr", "french": "fr", "français": "fr", "spa": "es", "spanish": "es",
    "español": "es", "ita": "it", "italian": "it", "nld": "nl", "dut": "nl", "dutch": "nl",
    "por": "pt", "portuguese": "pt", "swe": "sv", "swedish": "sv", "dan": "da", "danish": "da",
    "nor": "no", "nob": "nb", "norwegian": "no", "fin": "fi", "finnish": "fi", "pol": "pl",
    "polish": "pl", "ces": "cs", "cze": "cs", "czech": "cs", "rus": "ru", "russian": "ru",
    "ukr": "uk", "tur": "tr", "turkish": "tr", "jpn": "ja", "japanese": "ja", "zho": "zh",
    "chi": "zh", "chinese": "zh", "kor": "ko", "korean": "ko", "ara": "ar", "arabic": "ar",
    "ell": "el", "gre": "el", "greek": "el", "hun": "hu", "ron": "ro", "rum": "ro",
    "heb": "he", "iw": "he", "hin": "hi", "ind": "id", "in": "id", "vie": "vi", "tha": "th",
}
_NOT_LANGUAGES = {"zxx", "und", "mul", "xx", ""}

_LOCK = threading.Lock()
_IDENTIFIER: Any = None


def normalise(code: str | None) -> str | None:
    """``"en-US"``, ``"EN"``, ``"eng"``, ``"English"`` -> ``"en"``; unknown/empty -> ``None``."""
    if not code:
        return None
    low = code.strip().lower().replace("_", "-")
    base = low.split("-", 1)[0]
    if base in _NOT_LANGUAGES:
        return None
    if base in _ALIASES:
        return _ALIASES[base]
    if len(base) == 2 and base.isalpha():
        return base
    return None


def _identifier() -> Any:
    global _IDENTIFIER
    with _LOCK:
        if _IDENTIFIER is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _IDENTIFIER


def detect_with_confidence(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, probability) from py3langid, or (None, 0.0) for text without letters."""
    if not text or sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None, 0.0
    lang, prob = _identifier().classify(text)
    return normalise(lang), float(prob)


def detect(text: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str | None:
    """ISO 639-1 code of ``text``, or ``None`` when too short or not confident enough."""
    lang, prob = detect_with_confidence(text)
    return lang if lang is not None and prob >= min_confidence else None


def resolve_many(texts: Sequence[str], given: Sequence[str | None] | None = None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE
                 ) -> list[tuple[str | None, bool]]:
    """For each text: (language, detected?). A language given by the source wins."""
    given = given if given is not None else [None] * len(texts)
    out: list[tuple[str | None, bool]] = []
    for text, src in zip(texts, given, strict=True):
        src_lang = normalise(src)
        if src_lang is not None:
            out.append((src_lang, False))
            continue
        lang = detect(text, min_confidence)
        out.append((lang, lang is not None))
    return out
