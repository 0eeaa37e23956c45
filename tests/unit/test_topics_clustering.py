"""RefinedHDBSCAN on synthetic blobs: small clusters survive the robust min_samples default."""

from __future__ import annotations

import numpy as np

from voc.nlp.topics import clustering
from voc.nlp.topics.clustering import ClusterParams, RefinedHDBSCAN, distinct_texts, fit_clusters


def _blobs(n_blobs: int, per_blob: int, dim: int = 16, seed: int = 0) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, per_blob, axis=0) + 0.03 * rng.normal(size=(n_blobs * per_blob, dim))
    return x.astype(np.float32), np.repeat(np.arange(n_blobs), per_blob)


def test_min_samples_is_capped_by_min_cluster_size_so_small_themes_survive() -> None:
    # Blobs of 6 items with min_cluster_size 5: the default min_samples (8) would reach into
    # neighbouring blobs; capped at min_cluster_size each blob is its own cluster.
    x, truth = _blobs(4, 6)
    params = ClusterParams(min_cluster_size=5)
    assert params.min_samples is not None and params.min_samples > params.min_cluster_size
    labels = RefinedHDBSCAN(x, params).fit(x).labels_
    assert (labels >= 0).all()
    assert len(set(labels.tolist())) == 4
    for b in range(4):
        assert len(set(labels[truth == b].tolist())) == 1


def test_distinct_texts_ignore_case_and_spacing() -> None:
    first, inverse, copies = distinct_texts(["Refund  please", "refund please", "app crash",
                                             "REFUND please ", "app crash"])
    assert first.tolist() == [0, 2]
    assert inverse.tolist() == [0, 0, 1, 0, 1]
    assert copies.tolist() == [3, 2]


def _themes(seed: int = 3) -> tuple[list[str], np.ndarray, list[str]]:
    """Three themes of 40 distinct texts on separate blobs, every text copied 1-3 times, and
    one templated message copied 20 times far from all of them."""
    rng = np.random.default_rng(seed)
    words = {"refund": "refund money back", "login": "login code sms", "crash": "app crash"}
    x, truth = _blobs(4, 40, dim=24, seed=seed)
    texts, vecs, themes = [], [], []
    for i, (theme, phrase) in enumerate(words.items()):
        for j in range(40):
            for _ in range(int(rng.integers(1, 4))):
                texts.append(f"{phrase} {theme}{j} case")
                vecs.append(x[i * 40 + j])
                themes.append(theme)
    for _ in range(20):
        texts.append("Your conversation was closed automatically")
        vecs.append(x[3 * 40])
        themes.append("template")
    return texts, np.stack(vecs), themes


def test_copies_take_their_originals_cluster_and_a_recurring_text_is_a_theme(monkeypatch) -> None:  # noqa: ANN001
    texts, vecs, themes = _themes()
    fitted: list[int] = []
    real_fit = clustering._fit_distinct

    def recording_fit(fit_texts, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        fitted.append(len(fit_texts))
        return real_fit(fit_texts, *args, **kwargs)

    monkeypatch.setattr(clustering, "_fit_distinct", recording_fit)
    res = fit_clusters(texts, vecs, ClusterParams(min_cluster_size=10, representation="ctfidf"))
    # BERTopic saw each of the 120 theme texts once and the template min_cluster_size times.
    assert fitted == [120 + 10] and len(texts) > 200
    labels = res.labels
    by_text: dict[str, set[int]] = {}
    for t, lab in zip(texts, labels.tolist(), strict=True):
        by_text.setdefault(t, set()).add(lab)
    assert all(len(v) == 1 for v in by_text.values())  # copies share their original's label
    template = {int(lab) for lab, th in zip(labels, themes, strict=True) if th == "template"}
    assert len(template) == 1 and template != {-1}
    k = template.pop()
    assert len(labels) == len(texts) and sum(res.sizes) == int((labels >= 0).sum())
    assert res.sizes[k] < 30  # the template's 20 copies, not a theme's ~80 items
    for theme in ("refund", "login", "crash"):
        got = np.asarray([int(lab) for lab, th in zip(labels, themes, strict=True) if th == theme])
        main = np.bincount(got[got >= 0]).argmax()
        assert main != k and (got == main).mean() >= 0.9
