"""Scoring PII detection against a labelled corpus (tests and ``benchmarks/pii.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from voc.nlp.redact import Span

Gold = tuple[str, int, int]


@dataclass
class PiiScores:
    """Per-kind recall, overall precision, and the misses / false alarms for inspection."""

    recall: dict[str, float] = field(default_factory=dict)
    support: dict[str, int] = field(default_factory=dict)
    precision: float = 1.0
    predicted: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    misses: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    clean_texts_changed: int = 0  # near-misses that were (wrongly) touched


def evaluate(cases: Sequence[tuple[str, list[Gold]]],
             finder: Callable[[str], list[Span]]) -> PiiScores:
    """Score ``finder`` on ``cases``.

    A gold span counts as found when a predicted span of the same kind covers all of it
    (partial redaction leaks data). A predicted span is correct when it overlaps a gold
    span of the same kind.
    """
    found: dict[str, int] = {}
    support: dict[str, int] = {}
    scores = PiiScores()
    correct = 0
    for text, gold in cases:
        pred = finder(text)
        scores.predicted += len(pred)
        if not gold and pred:
            scores.clean_texts_changed += 1
        for kind, start, end in gold:
            support[kind] = support.get(kind, 0) + 1
            if any(p.kind == kind and p.start <= start and p.end >= end for p in pred):
                found[kind] = found.get(kind, 0) + 1
            else:
                scores.misses.append((kind, text))
        for p in pred:
            if any(p.kind == k and p.start < e and p.end > s for k, s, e in gold):
                correct += 1
            else:
                scores.false_positives.append((p.kind, text[p.start:p.end]))
    scores.support = support
    scores.recall = {k: found.get(k, 0) / n for k, n in sorted(support.items())}
    scores.precision = correct / scores.predicted if scores.predicted else 1.0
    return scores
