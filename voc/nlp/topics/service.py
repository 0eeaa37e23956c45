"""Topic service: incremental assignment, full refit, representative examples.

What the pipeline calls (docs/architecture.md):

- :func:`assign_pending`: streams items without a topic (and with an embedding) in
  batches by id and assigns each to the nearest canonical topic whose calibrated
  threshold it passes; a running mean keeps centroids current. When enough new
  items are left over, they are clustered (BERTopic) and matched/added to the
  registry ("incremental" clustering run).
- :func:`refit`: re-clusters the refit window (subsampled to
  ``VOC_TOPIC_REFIT_MAX_DOCS``; the rest is then assigned by centroid) and maps
  the clusters back to canonical ids (Hungarian on centroid cosine), so topics keep
  their ids, curated names, merges and hidden flags. Items that are already
  assigned move only when clearly closer to another existing topic
  (``VOC_TOPIC_REFIT_MARGIN``, 0.1 cosine: with 0.05 about 1 item in 20 changed topic
  on the banking77 stability benchmark) and never into a topic born in this refit (new
  topics grow from new and unassigned items), which keeps the weekly refit from
  reshuffling history; analysts can still move or merge by hand. The exception is
  *provisional* items, placed by centroid since the last full clustering: a new theme
  close to an old one is absorbed by the old topic's centroid until a refit finds it,
  and its items then move to it (with the same margin), so it starts with its history.
  Conversely a new cluster made mostly of settled items is a denser part of an existing
  theme (carved out by a surge, say), not a new theme: it folds into the topic holding
  most of them instead of becoming a topic with no history that looks "new".
- :func:`topic_examples` / :func:`examples_for_topics`: items closest to a topic's centroid.

Memory: assignment holds one batch of embeddings at a time; refit holds only the
(capped) window. Everything needed to continue after a restart (centroids,
thresholds, merges) is in the ``topics`` table: no model file is needed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from voc.config import Settings
from voc.db import session_scope
from voc.models.base import utcnow
from voc.models.feedback import Feedback, FeedbackEmbedding
from voc.models.topic_history import TopicRefit
from voc.models.topics import Topic
from voc.nlp.topics import registry as reg_mod
from voc.nlp.topics.clustering import ClusterParams, ClusterResult
from voc.nlp.topics.languages import fit_by_language, parse_languages
from voc.nlp.topics.matching import (
    assign_to_centroids,
    calibrate_threshold,
    loo_similarities,
    match_one_to_one,
    normalize,
)

log = logging.getLogger(__name__)

ASSIGN_BATCH = 2000
_IN_CHUNK = 900  # ids per IN (...) list: below SQLite's variable limit
SPLIT_MIN_SIM = 0.6  # a new cluster this close to an existing topic is recorded as split from it


def cluster_params(settings: Settings) -> ClusterParams:
    """Clustering parameters from settings."""
    return ClusterParams(min_cluster_size=settings.topic_min_cluster_size,
                         merge_threshold=settings.topic_merge_threshold,
                         outlier_threshold=settings.topic_outlier_threshold,
                         representation=settings.topic_representation)


def _embedder(settings: Settings):  # noqa: ANN202
    if settings.topic_representation != "keybert":
        return None
    from voc.nlp.embeddings import embedder_for

    return embedder_for(settings)


def _fit(docs: _Docs, params: ClusterParams, settings: Settings) -> ClusterResult:
    """Cluster ``docs``, each language the embedding model does not cover on its own
    (:mod:`voc.nlp.topics.languages`)."""
    return fit_by_language(docs.texts, docs.vectors, docs.languages, params,
                           parse_languages(settings.topic_languages), _embedder(settings))


# --- incremental assignment ----------------------------------------------------


def _pending_query(after_id: int, limit: int):  # noqa: ANN202
    return (select(Feedback.id, Feedback.created_at, FeedbackEmbedding.vector)
            .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
            .where(Feedback.topic_id.is_(None), Feedback.topic_locked.is_(False),
                   Feedback.id > after_id)
            .order_by(Feedback.id).limit(limit))


def assign_pending(session_factory: sessionmaker[Session], settings: Settings, *,
                   progress: bool = False, cluster_leftovers: bool = True,
                   batch_size: int = ASSIGN_BATCH) -> dict[str, Any]:
    """Assign items without a topic to canonical topics by centroid similarity.

    Returns counts: ``assigned``, ``unassigned`` (still pending), ``clustered`` and
    ``new_topics`` (from clustering the leftovers), ``topics`` (active topics).
    """
    started = time.perf_counter()
    with session_scope(session_factory) as s:
        reg = reg_mod.load_registry(s, settings.topic_assign_threshold)
    counts: dict[str, Any] = {"assigned": 0, "unassigned": 0, "clustered": 0, "new_topics": 0}
    if reg.empty:
        with session_scope(session_factory) as s:
            counts["unassigned"] = _count_pending(s)
        counts["topics"] = 0
        return counts
    sums: dict[int, np.ndarray] = {}
    added: dict[int, int] = {}
    touched: set[int] = set()
    after = 0
    bar = _bar(progress, "assigning")
    while True:
        with session_scope(session_factory) as s:
            rows = s.execute(_pending_query(after, batch_size)).all()
            if not rows:
                break
            after = rows[-1].id
            vecs = np.stack([r.vector for r in rows])
            res = assign_to_centroids(vecs, reg.centroids, reg.thresholds)
            now = utcnow()
            params = []
            for r, idx, score, vec in zip(rows, res.index, res.score, vecs, strict=True):
                if idx < 0:
                    counts["unassigned"] += 1
                    continue
                tid = reg.targets[idx]
                params.append({"id": r.id, "topic_id": tid, "topic_score": float(score),
                               "topic_assigned_at": now})
                if reg.ids[idx] == tid:  # via a merged topic's centroid: target stays put
                    sums[tid] = sums.get(tid, 0) + vec
                    added[tid] = added.get(tid, 0) + 1
            if params:
                s.execute(update(Feedback), params)
                touched.update(p["topic_id"] for p in params)
            counts["assigned"] += len(params)
        if bar is not None:
            bar.update(len(rows))
    if bar is not None:
        bar.close()
    if touched:
        with session_scope(session_factory) as s:
            if sums:
                _update_running_centroids(s, sums, added)
            reg_mod.refresh_stats(s, touched)
    if cluster_leftovers and counts["unassigned"] >= 3 * settings.topic_min_cluster_size:
        inc = _cluster_leftovers(session_factory, settings)
        counts["clustered"] = inc.get("clustered", 0)
        counts["new_topics"] = inc.get("new_topics", 0)
        counts["unassigned"] -= inc.get("clustered", 0)
    with session_scope(session_factory) as s:
        counts["topics"] = s.scalar(select(func.count()).select_from(Topic)
                                    .where(Topic.status == "active")) or 0
    log.info("topics: assigned %d, clustered %d, %d new topics, %d unassigned in %.1fs",
             counts["assigned"], counts["clustered"], counts["new_topics"], counts["unassigned"],
             time.perf_counter() - started)
    return counts


def _count_pending(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Feedback)
                    .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
                    .where(Feedback.topic_id.is_(None), Feedback.topic_locked.is_(False))) or 0


def _update_running_centroids(s: Session, sums: dict[int, np.ndarray],
                              added: dict[int, int]) -> None:
    """centroid <- (centroid * size + sum of new members) / (size + new): a running mean."""
    topics = s.execute(select(Topic.id, Topic.centroid, Topic.size)
                       .where(Topic.id.in_(list(sums)))).all()
    params = []
    for t in topics:
        n_old = max(int(t.size or 0), 0)
        base = t.centroid if t.centroid is not None else np.zeros_like(sums[t.id])
        cent = (base * n_old + sums[t.id]) / (n_old + added[t.id])
        params.append({"id": t.id, "centroid": cent.astype(np.float32)})
    if params:
        s.execute(update(Topic), params)


def _bar(progress: bool, desc: str):  # noqa: ANN202
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(desc=desc, unit="item")


# --- clustering runs (refit, bootstrap, leftovers) --------------------------------


@dataclass
class _Docs:
    """The documents of one clustering run (window sample or leftovers)."""

    ids: np.ndarray
    texts: list[str]
    vectors: np.ndarray
    created: list[datetime]
    topic_ids: list[int | None]
    locked: np.ndarray
    languages: list[str | None] = dataclasses.field(default_factory=list)
    assigned_at: list[datetime | None] = dataclasses.field(default_factory=list)


def _load_docs(s: Session, ids: Sequence[int]) -> _Docs:
    """Texts, embeddings and current topics for ``ids`` (loaded in IN-chunks)."""
    rows = []
    ids = list(ids)
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i:i + _IN_CHUNK]
        rows.extend(s.execute(
            select(Feedback.id, Feedback.text, Feedback.created_at, Feedback.topic_id,
                   Feedback.topic_locked, Feedback.language, Feedback.topic_assigned_at,
                   FeedbackEmbedding.vector)
            .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
            .where(Feedback.id.in_(chunk))).all())
    rows.sort(key=lambda r: r.id)
    dim = len(rows[0].vector) if rows else 0
    return _Docs(ids=np.asarray([r.id for r in rows], dtype=np.int64),
                 texts=[r.text for r in rows],
                 vectors=(np.stack([r.vector for r in rows]) if rows
                          else np.zeros((0, dim), dtype=np.float32)),
                 created=[r.created_at for r in rows], topic_ids=[r.topic_id for r in rows],
                 locked=np.asarray([bool(r.topic_locked) for r in rows], dtype=bool),
                 languages=[r.language for r in rows],
                 assigned_at=[reg_mod._aware(r.topic_assigned_at) for r in rows])


def _window(s: Session, weeks: int) -> tuple[datetime | None, datetime | None]:
    """The refit window: ``weeks`` back from the newest embedded item (not the wall clock,
    so back-filled or replayed data refits the period it covers)."""
    end = s.scalar(select(func.max(Feedback.created_at))
                   .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id))
    end = reg_mod._aware(end)
    if end is None:
        return None, None
    return end - timedelta(weeks=weeks), end


def refit(session_factory: sessionmaker[Session], settings: Settings, *,
          window_weeks: int | None = None, progress: bool = False,
          kind: str = "refit") -> dict[str, Any]:
    """Re-cluster the window and map clusters back to canonical topic ids.

    Returns counts: ``docs``, ``clusters``, ``matched``, ``new_topics``, ``moved``,
    ``assigned``, ``unassigned`` and ``refit_id``.
    """
    started = time.perf_counter()
    weeks = window_weeks or settings.topic_refit_window_weeks
    with session_scope(session_factory) as s:
        start, end = _window(s, weeks)
        if end is None:
            return {"docs": 0, "clusters": 0, "matched": 0, "new_topics": 0, "moved": 0,
                    "assigned": 0, "unassigned": 0}
        ids = list(s.scalars(
            select(Feedback.id)
            .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
            .where(Feedback.created_at >= start).order_by(Feedback.id)))
        sampled = len(ids) > settings.topic_refit_max_docs
        if sampled:
            # Deterministic subsample; the rest is assigned by centroid afterwards.
            rng = np.random.default_rng(0)
            ids = sorted(rng.choice(ids, settings.topic_refit_max_docs, replace=False).tolist())
        docs = _load_docs(s, ids)
        since = _last_refit_finished(s)
        run = TopicRefit(kind=kind, window_start=start, window_end=end, n_docs=len(ids),
                         status="running", params={"window_weeks": weeks, "sampled": sampled})
        s.add(run)
        s.flush()
        run_id = run.id
    params = cluster_params(settings)
    result = _fit(docs, params, settings)
    with session_scope(session_factory) as s:
        counts = _apply_clusters(s, settings, docs, result, run_id, mode="refit",
                                 provisional_since=since)
    # Items outside the sample (or still pending) get their topic by centroid.
    after = assign_pending(session_factory, settings, progress=progress, cluster_leftovers=False)
    counts["assigned"] += after["assigned"]
    counts["unassigned"] = after["unassigned"]
    counts["refit_id"] = run_id
    with session_scope(session_factory) as s:
        run = s.get(TopicRefit, run_id)
        run.status = "success"
        run.finished_at = utcnow()
        run.n_clusters = counts["clusters"]
        run.matched = counts["matched"]
        run.created = counts["new_topics"]
        run.counts = {k: v for k, v in counts.items() if isinstance(v, int | float)}
    log.info("topic refit (%s) over %d items: %d clusters, %d matched, %d new, %d moved in %.1fs",
             kind, counts["docs"], counts["clusters"], counts["matched"], counts["new_topics"],
             counts["moved"], time.perf_counter() - started)
    return counts


def _last_refit_finished(s: Session) -> datetime | None:
    """When the last successful full clustering (bootstrap or refit) finished."""
    return reg_mod._aware(s.scalar(
        select(func.max(TopicRefit.finished_at)).where(
            TopicRefit.kind.in_(("bootstrap", "refit")), TopicRefit.status == "success")))


def _cluster_leftovers(session_factory: sessionmaker[Session],
                       settings: Settings) -> dict[str, Any]:
    """Cluster pending items that fit no topic; only when enough new ones arrived since
    the last such run (so persistent noise is not re-clustered on every step)."""
    with session_scope(session_factory) as s:
        last = s.scalars(select(TopicRefit).where(TopicRefit.kind == "incremental",
                                                  TopicRefit.status == "success")
                         .order_by(TopicRefit.id.desc()).limit(1)).first()
        last_max = int((last.params or {}).get("max_feedback_id", 0)) if last else 0
        ids = list(s.scalars(
            select(Feedback.id)
            .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
            .where(Feedback.topic_id.is_(None), Feedback.topic_locked.is_(False))
            .order_by(Feedback.id.desc()).limit(settings.topic_refit_max_docs)))
        new_since = sum(1 for i in ids if i > last_max)
        if new_since < settings.topic_min_cluster_size:
            return {"clustered": 0, "new_topics": 0}
        docs = _load_docs(s, sorted(ids))
        run = TopicRefit(kind="incremental", n_docs=len(ids), status="running",
                         params={"max_feedback_id": max(ids)})
        s.add(run)
        s.flush()
        run_id = run.id
    params = dataclasses.replace(cluster_params(settings), allow_single_cluster=True)
    result = _fit(docs, params, settings)
    with session_scope(session_factory) as s:
        counts = _apply_clusters(s, settings, docs, result, run_id, mode="incremental")
        run = s.get(TopicRefit, run_id)
        run.status = "success"
        run.finished_at = utcnow()
        run.n_clusters, run.matched, run.created = (counts["clusters"], counts["matched"],
                                                    counts["new_topics"])
        run.counts = dict(counts)
    return {"clustered": counts["assigned"], "new_topics": counts["new_topics"]}


def _apply_clusters(s: Session, settings: Settings, docs: _Docs, result: ClusterResult,
                    run_id: int, *, mode: str,
                    provisional_since: datetime | None = None) -> dict[str, Any]:
    """Match clusters to the registry, create new topics, (re)assign the documents.

    ``mode`` "refit": matched topics take the window's centroid and keywords and
    already-assigned documents may move (with hysteresis); "incremental": only
    pending documents are assigned and matched centroids move by running mean.
    """
    reg = reg_mod.load_registry(s, settings.topic_assign_threshold)
    counts = {"docs": len(docs.ids), "clusters": result.k, "matched": 0, "new_topics": 0,
              "moved": 0, "assigned": 0, "unassigned": 0}
    cluster_topic: dict[int, int] = {}
    created_ids: set[int] = set()
    events: list[dict[str, Any]] = []
    now = utcnow()
    if result.k:
        sim = reg.canonical_similarity(result.centroids)
        # One-to-one over every registry centroid, merged topics included: a cluster that
        # matches a merged topic goes to its merge target (merges survive refits), while
        # the target can still match its own cluster.
        direct: dict[int, int] = {}  # cluster -> registry row it matched
        if len(reg.ids):
            row_sim = normalize(result.centroids) @ reg.unit().T
            for row, col, _score in match_one_to_one(row_sim, settings.topic_match_threshold):
                direct[row] = col
                cluster_topic[row] = reg.targets[col]
        counts["matched"] = len(cluster_topic)
        # Unmatched clusters big enough become new topics (on refit, unless they are mostly
        # settled items of existing topics: those fold into their topic).
        registry_target = dict(zip(reg.ids, reg.targets, strict=True))
        new_topics: list[tuple[int, Topic]] = []
        for i in range(result.k):
            if i in cluster_topic or result.sizes[i] < settings.topic_min_cluster_size:
                continue
            members = result.labels == i
            if mode == "refit":
                parent = _settled_parent(docs, np.flatnonzero(members), provisional_since,
                                         registry_target)
                if parent is not None:  # a denser part of an existing theme, not a new one
                    cluster_topic[i] = parent
                    counts["folded"] = counts.get("folded", 0) + 1
                    continue
            first = min(d for d, m in zip(docs.created, members, strict=True) if m)
            t = Topic(label=result.names[i], keywords=result.keywords[i],
                      centroid=result.centroids[i], size=0, status="active", hidden=False,
                      lineage=[], first_seen=first, created_at=now, updated_at=now)
            s.add(t)
            new_topics.append((i, t))
        s.flush()
        for i, t in new_topics:
            cluster_topic[i] = t.id
            events.append({"topic_id": t.id, "event": "created", "refit_id": run_id,
                           "details": {"size": result.sizes[i], "kind": mode}})
            if reg.canonical:
                j = int(sim[i].argmax())
                if sim[i, j] >= SPLIT_MIN_SIM:
                    events.append({"topic_id": t.id, "event": "split_from",
                                   "related_topic_id": reg.canonical[j], "refit_id": run_id,
                                   "details": {"similarity": round(float(sim[i, j]), 3)}})
        counts["new_topics"] = len(new_topics)
        created_ids.update(t.id for _, t in new_topics)
        # Matched topics take the fresh keywords/label (curated_label is never touched).
        label_params = []
        for i, col in direct.items():
            rid = reg.ids[col]
            p: dict[str, Any] = {"id": rid, "updated_at": now}
            if rid == reg.targets[col]:  # a merged topic keeps its old label
                p.update(label=result.names[i], keywords=result.keywords[i])
            if mode == "refit":
                p["centroid"] = result.centroids[i]
            label_params.append(p)
        if label_params:
            s.execute(update(Topic), label_params)
    # Per-document target topic.
    reg = reg_mod.load_registry(s, settings.topic_assign_threshold)
    target = np.full(len(docs.ids), -1, dtype=np.int64)
    for i, tid in cluster_topic.items():
        target[result.labels == i] = tid
    # Documents of no kept cluster: nearest centroid with the calibrated thresholds.
    rest = np.flatnonzero(target < 0)
    if len(rest) and len(reg.ids):
        res = assign_to_centroids(docs.vectors[rest], reg.centroids, reg.thresholds)
        ok = res.index >= 0
        target[rest[ok]] = np.asarray(reg.targets)[res.index[ok]]
    target_of = dict(zip(reg.ids, reg.targets, strict=True))
    unit_by_topic = dict(zip(reg.ids, reg.unit(), strict=True)) if len(reg.ids) else {}
    vecs = normalize(docs.vectors)
    updates = []
    for k, fid in enumerate(docs.ids.tolist()):
        if docs.locked[k]:
            continue
        cur = docs.topic_ids[k]
        new = int(target[k])
        if cur is not None:
            cur = target_of.get(cur, cur)  # a merged topic's items belong to its target
            if mode != "refit" or new < 0 or new == cur:
                if docs.topic_ids[k] != cur:
                    updates.append({"id": fid, "topic_id": cur, "topic_assigned_at": now})
                continue
            c_cur, c_new = unit_by_topic.get(cur), unit_by_topic.get(new)
            # Stability: already-assigned items never move into a topic born in this refit
            # (new topics grow from new and unassigned items), unless they were placed by
            # centroid since the last full clustering (a new theme a neighbour absorbed);
            # and they move only when clearly closer (hysteresis margin).
            if new in created_ids and not _provisional(docs, k, provisional_since):
                continue
            if c_cur is not None and c_new is not None and (
                    float(vecs[k] @ c_cur) + settings.topic_refit_margin
                    >= float(vecs[k] @ c_new)):
                continue
            counts["moved"] += 1
        elif new < 0:
            counts["unassigned"] += 1
            continue
        c = unit_by_topic.get(new)
        updates.append({"id": fid, "topic_id": new, "topic_assigned_at": now,
                        "topic_score": float(vecs[k] @ c) if c is not None else None})
        if cur is None:
            counts["assigned"] += 1
    for i in range(0, len(updates), 5000):
        s.execute(update(Feedback), updates[i:i + 5000])
    s.flush()
    touched = set(cluster_topic.values()) | {u["topic_id"] for u in updates}
    _recalibrate(s, settings, docs, touched, mode)
    reg_mod.refresh_stats(s, None if mode == "refit" else touched)
    reg_mod.add_events(s, events)
    return counts


#: A refit cluster with at least this share of its members settled in existing topics is a
#: part of an existing theme (see _settled_parent).
FOLD_SETTLED_SHARE = 0.5


def _settled_parent(docs: _Docs, rows: np.ndarray, provisional_since: datetime | None,
                    target_of: dict[int, int]) -> int | None:
    """The existing topic an unmatched refit cluster belongs to, or None for a new theme.

    A cluster made mostly of items settled in existing topics (placed before the last full
    clustering) is a denser part of a theme the registry has, carved out by a surge, say.
    As a new topic it would hold only recent items (settled ones never move into a topic
    born in a refit): "new" with no history, and its parent's series split in two. It folds
    into the topic holding most of its settled members instead.
    """
    settled = [target_of.get(docs.topic_ids[k], docs.topic_ids[k]) for k in rows.tolist()
               if docs.topic_ids[k] is not None and not _provisional(docs, k, provisional_since)]
    if len(settled) < FOLD_SETTLED_SHARE * len(rows):
        return None
    return Counter(settled).most_common(1)[0][0]


def _provisional(docs: _Docs, k: int, since: datetime | None) -> bool:
    """Assigned by centroid since the last full clustering (may move into a new topic)."""
    at = docs.assigned_at[k] if docs.assigned_at else None
    return since is not None and at is not None and at > since


def _recalibrate(s: Session, settings: Settings, docs: _Docs, topic_ids: set[int],
                 mode: str) -> None:
    """Per-topic assignment thresholds from the members in this run.

    A member's similarity is to the best of the topic's centroids (its own and those of
    topics merged into it). Centroids themselves come from the matched clusters, so a
    merge target keeps its own centroid instead of drifting to a blend of themes.
    """
    if not topic_ids:
        return
    members: dict[int, int | None] = {}
    ids = docs.ids.tolist()
    for i in range(0, len(ids), _IN_CHUNK):
        members.update(dict(s.execute(select(Feedback.id, Feedback.topic_id)
                                      .where(Feedback.id.in_(ids[i:i + _IN_CHUNK]))).all()))
    topic_of = np.asarray([members.get(f) or -1 for f in ids], dtype=np.int64)
    reg = reg_mod.load_registry(s, settings.topic_assign_threshold)
    rows_of: dict[int, list[int]] = {}
    for r, target in enumerate(reg.targets):
        rows_of.setdefault(target, []).append(r)
    unit = reg.unit()
    params = []
    for tid in topic_ids:
        mask = topic_of == tid
        rows = rows_of.get(tid)
        if not mask.any() or not rows:
            continue
        if len(rows) == 1 and mode == "refit":
            member_sims = loo_similarities(docs.vectors[mask])
        else:
            member_sims = (normalize(docs.vectors[mask]) @ unit[rows].T).max(axis=1)
        params.append({"id": tid, "assign_threshold": calibrate_threshold(
            member_sims, settings.topic_assign_threshold)})
    if params:
        s.execute(update(Topic), params)


# --- examples ----------------------------------------------------------------------


#: Candidates per topic for the examples: its most recent items in the period.
EXAMPLE_CANDIDATES = 2000


def topic_examples(session: Session, topic_id: int, week: str | None = None,
                   limit: int = 5, tz: str = "UTC") -> list[Feedback]:
    """Representative items of a topic (closest to its centroid), optionally in an ISO week.

    ``week`` is "YYYY-Www", cut in timezone ``tz`` like the rollups. Candidates are the
    topic's most recent 2,000 items in that period, ranked in memory by cosine to the centroid.
    """
    return examples_for_topics(session, [topic_id], week=week, limit=limit, tz=tz).get(
        topic_id, [])


def examples_for_topics(session: Session, topic_ids: Sequence[int], week: str | None = None,
                        limit: int = 5, tz: str = "UTC") -> dict[int, list[Feedback]]:
    """:func:`topic_examples` for many topics in three queries (centroids, candidates with a
    per-topic window, the chosen items) instead of three per topic: the ranking API lists
    examples for every ranked topic."""
    ids = sorted(set(topic_ids))
    if not ids:
        return {}
    centroids = dict(session.execute(select(Topic.id, Topic.centroid)
                                     .where(Topic.id.in_(ids))).all())
    if not centroids:
        return {}
    rn = func.row_number().over(partition_by=Feedback.topic_id,
                                order_by=(Feedback.created_at.desc(), Feedback.id.desc()))
    inner = (select(Feedback.id, Feedback.topic_id, FeedbackEmbedding.vector, rn.label("rn"))
             .join(FeedbackEmbedding, FeedbackEmbedding.feedback_id == Feedback.id)
             .where(Feedback.topic_id.in_(list(centroids))))
    if week:
        from voc.insights.weeks import week_bounds

        start, end = week_bounds(week, tz)
        inner = inner.where(Feedback.created_at >= start, Feedback.created_at < end)
    sub = inner.subquery()
    rows = session.execute(select(sub.c.id, sub.c.topic_id, sub.c.vector)
                           .where(sub.c.rn <= EXAMPLE_CANDIDATES)
                           .order_by(sub.c.topic_id, sub.c.rn)).all()
    by_topic: dict[int, list[Any]] = {}
    for r in rows:
        by_topic.setdefault(r.topic_id, []).append(r)
    chosen: dict[int, list[int]] = {}
    for tid, cands in by_topic.items():
        centroid = centroids.get(tid)
        if centroid is not None:
            sims = normalize(np.stack([r.vector for r in cands])) @ normalize(centroid)
            order = np.argsort(-sims, kind="stable")[:limit]
        else:
            order = np.arange(min(limit, len(cands)))
        chosen[tid] = [cands[i].id for i in order]
    wanted = [i for v in chosen.values() for i in v]
    items = {f.id: f for f in session.scalars(select(Feedback).where(Feedback.id.in_(wanted)))}
    return {tid: [items[i] for i in v if i in items] for tid, v in chosen.items()}
