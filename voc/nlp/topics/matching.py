"""Pure numpy helpers for the topic registry: thresholds, assignment, one-to-one matching.

Threshold calibration (documented here because it decides what "fits a topic"):
at fit time, each cluster's members have a cosine similarity to their centroid.
The topic's assignment threshold is a low quantile (``THRESHOLD_QUANTILE``, 5%)
of that distribution minus a small slack (``THRESHOLD_SLACK``), so nearly all items
like those that formed the topic are accepted again, clipped to ``[floor, ceil]`` so
that very loose clusters do not swallow everything and very tight ones still accept
paraphrases. Topics with too
few members to estimate a quantile use the global ``VOC_TOPIC_ASSIGN_THRESHOLD``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD_QUANTILE = 0.05
THRESHOLD_SLACK = 0.03
MIN_MEMBERS_FOR_QUANTILE = 8


def normalize(mat: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    mat = np.asarray(mat, dtype=np.float32)
    if mat.ndim == 1:
        n = float(np.linalg.norm(mat))
        return mat / n if n > 0 else mat
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return mat / np.where(norms > 0, norms, 1.0)


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Cluster ids (sorted, -1 excluded) and their mean embeddings (not normalised)."""
    ks = sorted(int(k) for k in set(labels.tolist()) if k != -1)
    if not ks:
        return [], np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    cents = np.stack([embeddings[labels == k].mean(axis=0) for k in ks]).astype(np.float32)
    return ks, cents


def loo_similarities(vectors: np.ndarray) -> np.ndarray:
    """Cosine of each member to the mean of the *other* members (leave-one-out).

    Including the member itself in the centroid inflates its similarity (by ~1/n),
    which would make the calibrated threshold too strict for new items.
    """
    x = normalize(vectors)
    n = len(x)
    if n < 2:
        return np.ones(n, dtype=np.float32)
    others = normalize((x.sum(axis=0)[None, :] - x) / (n - 1))
    return np.einsum("ij,ij->i", x, others).astype(np.float32)


def calibrate_threshold(member_sims: np.ndarray, default: float, floor: float = 0.35,
                        ceil: float = 0.75) -> float:
    """Assignment threshold of one topic from its members' similarities to the centroid."""
    if len(member_sims) < MIN_MEMBERS_FOR_QUANTILE:
        return float(default)
    q = float(np.quantile(member_sims, THRESHOLD_QUANTILE)) - THRESHOLD_SLACK
    return float(min(max(q, floor), ceil))


@dataclass
class Assignment:
    """Result of assigning vectors to topic centroids."""

    index: np.ndarray  # best centroid row per vector, -1 where below threshold
    score: np.ndarray  # cosine similarity to that centroid (also for rejected ones)


def assign_to_centroids(vectors: np.ndarray, cents: np.ndarray, thresholds: np.ndarray,
                        slack: float = 0.0) -> Assignment:
    """Nearest centroid by cosine; accepted where similarity >= that topic's threshold - slack."""
    if len(vectors) == 0 or len(cents) == 0:
        n = len(vectors)
        return Assignment(np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32))
    sims = normalize(vectors) @ normalize(cents).T
    best = sims.argmax(axis=1)
    score = sims[np.arange(len(best)), best]
    ok = score >= (thresholds[best] - slack)
    return Assignment(np.where(ok, best, -1), score.astype(np.float32))


def match_one_to_one(sim: np.ndarray, min_sim: float) -> list[tuple[int, int, float]]:
    """Hungarian matching of rows (new clusters) to columns (registry topics).

    Returns ``(row, col, sim)`` for matched pairs with ``sim >= min_sim``; every row
    and column is used at most once, maximising the total similarity.
    """
    if sim.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-sim)
    return [(int(r), int(c), float(sim[r, c])) for r, c in zip(rows, cols, strict=True)
            if sim[r, c] >= min_sim]
