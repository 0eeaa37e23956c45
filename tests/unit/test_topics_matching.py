"""Pure topic logic: threshold calibration, centroid assignment, one-to-one matching,
cluster refinement, labels and the rule lemmatiser."""

from __future__ import annotations

import numpy as np

from voc.nlp.topics.clustering import make_label, merge_near_duplicates, rescue_outliers
from voc.nlp.topics.matching import (
    assign_to_centroids,
    calibrate_threshold,
    loo_similarities,
    match_one_to_one,
    normalize,
)
from voc.nlp.topics.registry import Registry, resolve_targets
from voc.nlp.topics.text import lemma_tokens, lemmatize


def _unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    return normalize(rng.normal(size=(n, d)))


def test_calibrated_threshold_accepts_nearly_all_members_and_is_clipped() -> None:
    sims = np.linspace(0.55, 0.95, 200)
    thr = calibrate_threshold(sims, default=0.55)
    assert (sims >= thr).mean() >= 0.95
    assert thr < 0.6
    assert calibrate_threshold(np.full(50, 0.99), default=0.55) == 0.75  # ceiling
    assert calibrate_threshold(np.full(50, 0.1), default=0.55) == 0.35  # floor
    assert calibrate_threshold(np.array([0.9, 0.8]), default=0.55) == 0.55  # too few members


def test_loo_similarity_is_lower_than_inclusive() -> None:
    rng = np.random.default_rng(0)
    x = normalize(np.ones(32) + 0.8 * rng.normal(size=(10, 32)))
    incl = x @ normalize(x.mean(axis=0))
    loo = loo_similarities(x)
    assert np.all(loo < incl)
    assert np.all(loo > 0)


def test_assignment_respects_per_topic_thresholds() -> None:
    rng = np.random.default_rng(1)
    cents = _unit(rng, 3)
    near = normalize(cents[1] + 0.1 * rng.normal(size=32))
    far = _unit(rng, 1)[0]
    res = assign_to_centroids(np.stack([near, far]), cents, np.array([0.5, 0.5, 0.5]))
    assert res.index.tolist() == [1, -1]
    assert res.score[0] > 0.8
    # A strict threshold on topic 1 rejects the same vector.
    res = assign_to_centroids(near[None], cents, np.array([0.5, 0.999, 0.5]))
    assert res.index.tolist() == [-1]
    empty = assign_to_centroids(np.zeros((0, 32)), cents, np.ones(3))
    assert empty.index.shape == (0,)


def test_hungarian_matching_is_one_to_one_with_minimum() -> None:
    # Two new clusters both resemble topic 0 most; only the better one gets it.
    sim = np.array([[0.95, 0.60, 0.1],
                    [0.90, 0.85, 0.1],
                    [0.20, 0.30, 0.4]])
    pairs = match_one_to_one(sim, min_sim=0.7)
    assert sorted((r, c) for r, c, _ in pairs) == [(0, 0), (1, 1)]
    assert match_one_to_one(np.zeros((0, 3)), 0.5) == []


def test_merge_near_duplicates_and_rescue_outliers() -> None:
    rng = np.random.default_rng(2)
    a, b = _unit(rng, 2)
    dup = normalize(a + 0.05 * rng.normal(size=32))
    emb = normalize(np.stack([a + 0.05 * rng.normal(size=32) for _ in range(5)]
                             + [dup + 0.05 * rng.normal(size=32) for _ in range(5)]
                             + [b + 0.05 * rng.normal(size=32) for _ in range(5)]
                             + [a + 0.15 * rng.normal(size=32), rng.normal(size=32)]))
    labels = np.array([0] * 5 + [1] * 5 + [2] * 5 + [-1, -1])
    merged = merge_near_duplicates(emb, labels, 0.9)
    assert len(set(merged[:10])) == 1 and merged[10] != merged[0]
    assert merge_near_duplicates(emb, labels, 1.1).tolist() == labels.tolist()
    rescued = rescue_outliers(emb, merged, 0.3)
    assert rescued[15] == merged[0]  # a noisy "a" item joins the a-cluster
    assert rescued[16] == -1  # a random vector stays unassigned


def test_registry_resolves_merge_chains_and_similarity_to_targets() -> None:
    assert resolve_targets([(1, None), (2, 1), (3, 2), (4, None)]) == {1: 1, 2: 1, 3: 1, 4: 4}
    assert resolve_targets([(1, 2), (2, 1)])[1] in (1, 2)  # a cycle never loops forever
    rng = np.random.default_rng(3)
    c = _unit(rng, 3)
    reg = Registry(ids=[1, 2, 3], targets=[1, 1, 3], centroids=c,
                   thresholds=np.full(3, 0.5), canonical=[1, 3])
    sim = reg.canonical_similarity(c[1][None])
    assert sim.shape == (1, 2) and abs(sim[0, 0] - 1.0) < 1e-5  # merged 2 counts for 1


def test_labels_and_lemmas() -> None:
    assert make_label(["card arrival", "card", "arrival", "delivery", "late", "post"]) == (
        "card arrival, delivery, late, post")
    assert make_label([]) == "misc"
    assert lemmatize("cards") == "card" and lemmatize("charged") == "charge"
    assert lemmatize("stopped") == "stop" and lemmatize("companies") == "company"
    assert lemmatize("status") == "status" and lemmatize("declined") == "decline"
    toks = lemma_tokens("Hi, my cards were declined twice! Email me at [EMAIL] please")
    assert toks == ["card", "decline", "twice", "email"]
