"""Sentence splitting (spaCy blank pipeline + rule-based sentencizer) and pain quotes.

The pipeline is language-neutral (``spacy.blank("xx")`` with the ``sentencizer``), needs no
trained model, and is built once per process. The *pain quote* of an item is its most
negative sentence, kept only when that sentence is negative (score <= -0.05) or the whole
item was labelled negative: a wholly positive item has no pain to quote.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from voc.nlp.sentiment.base import NEUTRAL_BAND

MAX_QUOTE_CHARS = 300
_LOCK = threading.Lock()
_NLP: Any = None
_ABBREVIATION_TEXT = ("mr. mrs. ms. dr. prof. st. no. nr. vs. etc. e.g. i.e. approx. z.b. bzw. "
                      "ca. p.s. jan. feb. mar. apr. jun. jul. aug. sep. sept. oct. nov. dec.")
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())
# One sentence for sure: no sentence punctuation (also CJK and Devanagari) and no line break.
_MAYBE_MANY = re.compile(r"[.!?;\n。！？।]")


def _pipeline() -> Any:
    global _NLP
    with _LOCK:
        if _NLP is None:
            import spacy

            nlp = spacy.blank("xx")
            nlp.add_pipe("sentencizer")
            _NLP = nlp
        return _NLP


def split_many(texts: Sequence[str], batch_size: int = 256) -> list[list[str]]:
    """Sentences of each text (stripped, empty ones dropped); texts of one sentence skip spaCy."""
    out: list[list[str] | None] = [None] * len(texts)
    todo: list[int] = []
    for i, text in enumerate(texts):
        text = (text or "").strip()
        if not text:
            out[i] = []
        elif _MAYBE_MANY.search(text.rstrip(".!?;。！？। ")) is None:
            out[i] = [text]
        else:
            todo.append(i)
    if todo:
        nlp = _pipeline()
        docs = nlp.pipe((texts[i] for i in todo), batch_size=batch_size)
        for i, doc in zip(todo, docs, strict=True):
            sents = _merge_abbreviations([s.text.strip() for s in doc.sents if s.text.strip()])
            out[i] = sents or [texts[i].strip()]
    return [s if s is not None else [] for s in out]


def _merge_abbreviations(sents: list[str]) -> list[str]:
    # the rule-based sentencizer splits after "Mr." or "e.g."; glue such stubs to what follows
    merged: list[str] = []
    carry = ""
    for s in sents:
        s = f"{carry} {s}" if carry else s
        last = s.rsplit(" ", 1)[-1].lower()
        if last in _ABBREVIATIONS or (len(s) <= 3 and s.endswith(".")):
            carry = s
            continue
        carry = ""
        merged.append(s)
    if carry:
        merged.append(carry)
    return merged


def split(text: str) -> list[str]:
    """Sentences of one text."""
    return split_many([text])[0]


def _clip(sentence: str) -> str:
    if len(sentence) <= MAX_QUOTE_CHARS:
        return sentence
    return sentence[: MAX_QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def pain_quotes(texts: Sequence[str], scorer: Callable[[list[str]], list[float | None]],
                eligible: Sequence[bool] | None = None,
                item_negative: Sequence[bool] | None = None) -> list[str | None]:
    """The most negative sentence of each eligible text, or None.

    ``scorer`` scores a flat list of sentences in one call (so backends can batch); a None
    score (unsupported) is skipped. A sentence must itself score negative, except in items
    that ``item_negative`` marks (the item-level backend called the whole item negative):
    there the lowest-scoring sentence is the quote even when the sentence scorer is unsure.
    """
    eligible = eligible if eligible is not None else [True] * len(texts)
    item_negative = item_negative if item_negative is not None else [False] * len(texts)
    sentences = split_many([t if ok else "" for t, ok in zip(texts, eligible, strict=True)])
    flat = [s for sents in sentences for s in sents]
    scores = scorer(flat) if flat else []
    out: list[str | None] = []
    pos = 0
    for sents, negative in zip(sentences, item_negative, strict=True):
        best: tuple[float, str] | None = None
        for s in sents:
            score = scores[pos]
            pos += 1
            if score is None or (score > -NEUTRAL_BAND and not negative):
                continue
            if best is None or score < best[0]:
                best = (score, s)
        out.append(_clip(best[1]) if best else None)
    return out
