"""Evaluation sets for ``benchmarks/sentiment.py`` and their cached embeddings.

Embedding ~19k texts on a busy CPU takes minutes, so vectors are cached under
``benchmarks/.cache/`` (gitignored), keyed by the embedder name and a hash of the texts.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"
LABELS = ("negative", "neutral", "positive")


@dataclass
class Split:
    """Texts and gold labels (0 negative, 1 neutral, 2 positive)."""

    texts: list[str]
    labels: np.ndarray


def stars_to_label(stars: int) -> int:
    """1-2 stars negative, 3 neutral, 4-5 positive (the CSAT weak-label rule)."""
    return 0 if stars <= 2 else 1 if stars == 3 else 2


def amazon(data: Path = DATA, field: str = "title+body") -> Split:
    """Amazon fine-food reviews, stars mapped to three classes.

    ``field``: ``title+body`` (default: "Title. Body", as a ticket's subject and description
    make one feedback text), ``body`` or ``title``.
    """
    path = data / "amazon_fine_food_reviews_sample" / "Reviews_first5003.csv"
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            body = row.get("Text", "").strip()
            if not row.get("Score", "").strip().isdigit() or not body:
                continue
            title = row.get("Summary", "").strip()
            texts.append({"body": body, "title": title or body,
                          "title+body": f"{title}. {body}" if title else body}[field])
            labels.append(stars_to_label(int(row["Score"])))
    return Split(texts, np.array(labels))


def tweeteval(split: str, data: Path = DATA) -> Split:
    """TweetEval sentiment ``val`` or ``test`` (labels 0/1/2 as in mapping.txt)."""
    base = data / "tweeteval_sentiment"
    texts = (base / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(x) for x in (base / f"{split}_labels.txt").read_text().split()]
    texts = [t.strip() for t in texts[: len(labels)]]
    return Split(texts, np.array(labels))


def embeddings(texts: list[str], embedder, progress: bool = True) -> np.ndarray:  # noqa: ANN001
    """Vectors for ``texts`` from ``embedder`` (``encode``), cached on disk."""
    digest = hashlib.sha1("\x1e".join(texts).encode("utf-8")).hexdigest()[:16]
    name = embedder.name.replace("/", "_")
    path = CACHE / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    vecs = embedder.encode(texts, batch_size=64, progress=progress)
    np.save(path, vecs)
    return vecs
