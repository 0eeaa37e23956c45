"""Policy pain points: a policy taxonomy, topic-to-policy mapping, and a per-policy ranking.

The taxonomy (name, title, description, seed phrases) is YAML or JSON at
``settings.policy_taxonomy_path``; the default ships as ``policy_taxonomy.yaml`` beside this
module. Each policy's vector is the normalised mean embedding of its description and seed
phrases (``voc.nlp.embeddings.get_embedder(settings.embedding_backend)``); a topic maps to
every policy whose cosine similarity to the topic centroid is at least
``settings.policy_min_similarity`` (so a topic can map to none) and within
``settings.policy_margin`` of its best policy (a "verification code" topic belongs to
account security, not also to age verification because the words overlap: pooling it into
every loosely similar policy would make those policies surge with it). The mapping is stored in
``topic_policies`` with the similarity and is recomputed only when the taxonomy or a topic
changed. The per-policy ranking pools the rollups of a policy's topics and ranks policies with
the same detection, score and reasons as topics (scope ``policy``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights import ranking as rk
from voc.insights.rollups import TopicResolver, _get_state, _set_state, load_sums, topic_resolver
from voc.models.base import utcnow
from voc.models.insights import Ranking as RankingRow
from voc.models.insights import TopicPolicy
from voc.models.topics import Topic

log = logging.getLogger(__name__)

DEFAULT_TAXONOMY = Path(__file__).with_name("policy_taxonomy.yaml")
STATE_KEY = "policies.mapping"
SCOPE = "policy"


@dataclass(frozen=True)
class Policy:
    """One policy of the taxonomy."""

    name: str
    title: str
    description: str = ""
    seed_phrases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def texts(self) -> list[str]:
        return [t for t in (self.description, *self.seed_phrases) if t]


def load_policies(settings: Settings) -> list[Policy]:
    """The configured taxonomy (default: the shipped one); ValueError if malformed."""
    path = Path(settings.policy_taxonomy_path or DEFAULT_TAXONOMY)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if isinstance(data, dict):
        data = data.get("policies", data)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of policies")
    out, seen = [], set()
    for i, p in enumerate(data):
        if not isinstance(p, dict) or not p.get("name"):
            raise ValueError(f"{path}: policy #{i + 1} needs a name")
        name = str(p["name"]).strip()
        if name in seen:
            raise ValueError(f"{path}: duplicate policy {name!r}")
        seen.add(name)
        phrases = p.get("seed_phrases") or []
        if isinstance(phrases, str):
            phrases = [s.strip() for s in phrases.split(";") if s.strip()]
        out.append(Policy(name=name, title=str(p.get("title") or name),
                          description=str(p.get("description") or ""),
                          seed_phrases=tuple(str(s) for s in phrases)))
    return out


def policy_vectors(policies: list[Policy], embedder: Any, batch_size: int = 64) -> np.ndarray:
    """One normalised vector per policy: the mean of its texts' embeddings."""
    texts, owner = [], []
    for i, p in enumerate(policies):
        for t in p.texts or [p.title]:
            texts.append(t)
            owner.append(i)
    vecs = np.asarray(embedder.encode(texts, batch_size=batch_size), dtype=np.float32)
    out = np.zeros((len(policies), vecs.shape[1]), dtype=np.float32)
    for i in range(len(policies)):
        out[i] = vecs[np.asarray(owner) == i].mean(axis=0)
    return _normalise(out)


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def _fingerprint(session: Session, policies: list[Policy], settings: Settings) -> str:
    topics = session.execute(select(func.count(Topic.id), func.max(Topic.updated_at))).one()
    raw = json.dumps([[p.name, p.texts] for p in policies]) + str(tuple(topics)) + \
        f"{settings.policy_min_similarity}|{settings.policy_margin}|{settings.embedding_backend}"
    return hashlib.sha256(raw.encode()).hexdigest()


def map_topics(session: Session, settings: Settings, *, embedder: Any = None,
               force: bool = False) -> dict[str, int]:
    """Map topics with a centroid to policies; skipped when nothing changed since last time."""
    policies = load_policies(settings)
    fp = _fingerprint(session, policies, settings)
    if not force and _get_state(session, STATE_KEY).get("fingerprint") == fp:
        return {"mapped": 0, "skipped": 1}
    rows = session.execute(select(Topic.id, Topic.centroid).where(
        Topic.centroid.is_not(None), Topic.status != "merged")).all()
    session.execute(delete(TopicPolicy))
    if rows and policies:
        if embedder is None:
            from voc.nlp.embeddings import get_embedder

            embedder = get_embedder(settings.embedding_backend)
        pv = policy_vectors(policies, embedder, settings.embedding_batch_size)
        centroids = _normalise(np.stack([np.asarray(r.centroid, dtype=np.float32)
                                         for r in rows]))
        sims = centroids @ pv.T
        floor = np.maximum(sims.max(axis=1, keepdims=True) - settings.policy_margin,
                           settings.policy_min_similarity)
        now = utcnow()
        out = [{"topic_id": r.id, "policy": policies[j].name, "similarity": float(sims[i, j]),
                "mapped_at": now}
               for i, r in enumerate(rows) for j in range(len(policies))
               if sims[i, j] >= floor[i, 0]]
        if out:
            session.execute(TopicPolicy.__table__.insert(), out)
    else:
        out = []
    _set_state(session, STATE_KEY, {"fingerprint": fp, "at": utcnow().isoformat()})
    log.info("policies: %d topics, %d mappings", len(rows), len(out))
    return {"mapped": len(out), "topics": len(rows), "skipped": 0}


def policies_for_topic(session: Session, topic_id: int) -> list[dict[str, Any]]:
    """The policies a topic maps to, best first: ``[{"policy", "similarity"}]``."""
    rows = session.execute(select(TopicPolicy.policy, TopicPolicy.similarity).where(
        TopicPolicy.topic_id == topic_id).order_by(TopicPolicy.similarity.desc())).all()
    return [{"policy": p, "similarity": round(s, 4)} for p, s in rows]


def topics_for_policy(session: Session, policy: str) -> list[int]:
    """Topic ids mapped to ``policy``, most similar first."""
    return list(session.scalars(select(TopicPolicy.topic_id).where(
        TopicPolicy.policy == policy).order_by(TopicPolicy.similarity.desc())))


def _policy_map(session: Session, resolver: TopicResolver) -> dict[int, list[str]]:
    """Raw topic id -> policies (a merged topic counts through its target's mapping)."""
    mapped: dict[int, list[str]] = {}
    for tid, pol in session.execute(select(TopicPolicy.topic_id, TopicPolicy.policy)):
        mapped.setdefault(tid, []).append(pol)
    out = {}
    for raw in resolver.target:
        tgt = resolver.resolve(raw)
        if resolver.visible(tgt):
            out[raw] = mapped.get(tgt, []) or mapped.get(raw, [])
    return out


def rank_policies(session: Session, settings: Settings, week: str, *,
                  resolver: TopicResolver | None = None) -> int:
    """Compute and store the per-policy ranking of ``week`` (scope ``policy``)."""
    resolver = resolver or topic_resolver(session)
    try:
        policies = {p.name: p for p in load_policies(settings)}
    except (OSError, ValueError) as exc:
        log.warning("policy taxonomy unusable, no policy ranking: %s", exc)
        return 0
    pmap = _policy_map(session, resolver)
    weeks = rk._window(settings, week)
    sums = load_sums(session, weeks, ("week", "topic_id", "market"))
    totals = load_sums(session, weeks, ("week", "market"))
    items = rk.rank_units(sums, totals, lambda raw: pmap.get(raw, []), weeks, settings)
    topic_vol = load_sums(session, [week], ("topic_id",))
    for it in items:
        name = it.pop("unit")
        it["policy"] = name
        it["topic_id"] = None
        it["label"] = policies[name].title if name in policies else name
        members = sorted({resolver.resolve(raw) for raw, pols in pmap.items() if name in pols})
        vols = {t: sum(s.volume for (raw,), s in topic_vol.items()
                       if resolver.resolve(raw) == t) for t in members}
        top = sorted((t for t in members if vols[t] > 0), key=lambda t: -vols[t])[:5]
        it["drivers"]["topics"] = [{"topic_id": t, "label": resolver.labels.get(t, ""),
                                    "volume": vols[t]} for t in top]
    return rk.store_ranking(session, week, SCOPE, items, key="policy")


def load_policy_ranking(session: Session, week: str) -> rk.Ranking:
    """The per-policy ranking of ``week``: items carry ``policy``, ``label`` (the title),
    the same numbers, flags and reasons as topics, and ``topics`` (its top topics)."""
    rows = session.scalars(select(RankingRow).where(
        RankingRow.week == week, RankingRow.scope == SCOPE).order_by(RankingRow.rank)).all()
    items = []
    for r in rows:
        it = rk.row_to_item(r)
        it["topics"] = it["drivers"].pop("topics", [])
        items.append(it)
    return rk.Ranking(week=week, items=items, scope=SCOPE)
