"""Clustering per language group, for embedding models that cover only some languages.

all-MiniLM-L6-v2 is English-only: German, French or Spanish texts embed close to other
texts *of their language*, not to English texts of the same theme (measured on the demo
stream: a non-English item's nearest English theme centroid is right for 32-67% of items,
and only 12-22% reach a cosine of 0.3, where it becomes reliable). Clustered together
with English, such items form language clusters with unreadable English-stop-word
labels ("mi saludo, mi es") and sometimes mixed themes.

Strategy (documented choice, not a translation): items whose language the embedding
model supports (``VOC_TOPIC_LANGUAGES``, default ``en``), or whose language is unknown,
are clustered together as before; items of every other language are clustered within
their language, with that language's stop words and c-TF-IDF keywords, and their topics
are labelled with the language ("[de] erstattung, bestellung"). Languages with too few
items for a cluster are left to centroid assignment. Later items reach these topics by
the usual centroid assignment (same-language texts are each other's nearest neighbours).
With a multilingual embedding model, list its languages and everything is one fit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np

from voc.nlp.topics.clustering import ClusterParams, ClusterResult, fit_clusters

log = logging.getLogger(__name__)

SUPPORTED = None  # group key of the supported (and unknown) languages


def parse_languages(value: str) -> frozenset[str]:
    """``"en, de"`` -> ``{"en", "de"}`` (lower-case ISO 639-1 codes)."""
    return frozenset(p.strip().lower() for p in value.split(",") if p.strip())


def language_groups(languages: Sequence[str | None],
                    supported: frozenset[str]) -> dict[str | None, np.ndarray]:
    """Indexes per group: :data:`SUPPORTED` (supported or unknown language) and one per
    other language code, in first-seen order."""
    groups: dict[str | None, list[int]] = {SUPPORTED: []}
    for i, lang in enumerate(languages):
        code = (lang or "").lower() or None
        key = SUPPORTED if code is None or code in supported else code
        groups.setdefault(key, []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}


def fit_by_language(texts: Sequence[str], embeddings: np.ndarray,
                    languages: Sequence[str | None], params: ClusterParams,
                    supported: frozenset[str], embedder=None) -> ClusterResult:  # noqa: ANN001
    """Cluster each language group separately and concatenate the clusters.

    With one group (all supported or unknown) this is exactly :func:`fit_clusters`.
    """
    groups = language_groups(languages, supported)
    if len(groups) == 1 or all(not len(ix) for k, ix in groups.items() if k is not SUPPORTED):
        return fit_clusters(list(texts), embeddings, params, embedder)
    emb = np.asarray(embeddings, dtype=np.float32)
    n, dim = len(texts), emb.shape[1]
    labels = np.full(n, -1, dtype=np.int64)
    out = ClusterResult(labels=labels, centroids=np.zeros((0, dim), dtype=np.float32),
                        sizes=[], keywords=[], names=[], member_sims=[])
    cents = []
    for lang, idx in groups.items():
        if len(idx) < max(2 * params.min_cluster_size, 10):
            continue  # too few to cluster: left to centroid assignment
        p = params if lang is SUPPORTED else dataclasses.replace(
            params, representation="ctfidf", language=lang)
        res = fit_clusters([texts[i] for i in idx], emb[idx], p,
                           embedder if lang is SUPPORTED else None)
        offset = out.k
        member = res.labels >= 0
        labels[idx[member]] = res.labels[member] + offset
        cents.extend(res.centroids)
        out.sizes.extend(res.sizes)
        out.keywords.extend(res.keywords)
        prefix = "" if lang is SUPPORTED else f"[{lang}] "
        out.names.extend(prefix + name for name in res.names)
        out.member_sims.extend(res.member_sims)
        out.seconds += res.seconds
        log.info("language group %s: %d items, %d clusters", lang or "supported", len(idx), res.k)
    if cents:
        out.centroids = np.stack(cents).astype(np.float32)
    return out
