"""Clustering per language group (voc.nlp.topics.languages) and non-English keywords."""

from __future__ import annotations

import numpy as np

from voc.nlp.topics import languages
from voc.nlp.topics.clustering import ClusterParams, ClusterResult
from voc.nlp.topics.text import OTHER_STOP_WORDS, _words, make_vectorizer


def test_parse_and_group_languages() -> None:
    assert languages.parse_languages(" EN, de ,") == {"en", "de"}
    groups = languages.language_groups(["en", None, "de", "DE", "fr", "en"], frozenset({"en"}))
    assert list(groups) == [None, "de", "fr"]
    assert groups[None].tolist() == [0, 1, 5]  # supported and unknown languages together
    assert groups["de"].tolist() == [2, 3] and groups["fr"].tolist() == [4]


def _fake_fit(calls: list):  # noqa: ANN202
    def fit(texts, emb, params, embedder=None):  # noqa: ANN001, ANN202
        calls.append((list(texts), params, embedder))
        n = len(texts)
        labels = np.asarray([i % 2 for i in range(n)], dtype=np.int64)
        labels[0] = -1  # one outlier per group
        cents = np.stack([emb[labels == k].mean(axis=0) for k in (0, 1)])
        return ClusterResult(labels=labels, centroids=cents,
                             sizes=[int((labels == k).sum()) for k in (0, 1)],
                             keywords=[["a"], ["b"]], names=["a", "b"],
                             member_sims=[np.ones(1), np.ones(1)])
    return fit


def test_each_unsupported_language_is_clustered_on_its_own(monkeypatch) -> None:  # noqa: ANN001
    calls: list = []
    monkeypatch.setattr(languages, "fit_clusters", _fake_fit(calls))
    langs = ["en"] * 12 + ["de"] * 10 + ["es"] * 3  # Spanish: too few to cluster
    texts = [f"{lang} {i}" for i, lang in enumerate(langs)]
    emb = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    params = ClusterParams(min_cluster_size=5)
    res = languages.fit_by_language(texts, emb, langs, params, frozenset({"en"}), "EMB")
    assert len(calls) == 2
    (en_texts, en_params, en_emb), (de_texts, de_params, de_emb) = calls
    assert en_texts == texts[:12] and en_params == params and en_emb == "EMB"
    assert de_texts == texts[12:22] and de_emb is None
    assert de_params.language == "de" and de_params.representation == "ctfidf"
    assert res.k == 4 and res.names == ["a", "b", "[de] a", "[de] b"]
    assert res.centroids.shape == (4, 8)
    assert res.labels[0] == -1 and res.labels[12] == -1  # outliers stay outliers
    assert set(res.labels[1:12].tolist()) == {0, 1}
    assert set(res.labels[13:22].tolist()) == {2, 3}  # offset past the English clusters
    assert (res.labels[22:] == -1).all()  # left to centroid assignment
    assert res.sizes == [int((res.labels == k).sum()) for k in range(4)]


def test_one_language_group_is_a_plain_fit(monkeypatch) -> None:  # noqa: ANN001
    calls: list = []
    monkeypatch.setattr(languages, "fit_clusters", _fake_fit(calls))
    emb = np.ones((6, 4), dtype=np.float32)
    res = languages.fit_by_language(["x"] * 6, emb, ["en", None] * 3, ClusterParams(),
                                    frozenset({"en"}))
    assert len(calls) == 1 and calls[0][1] == ClusterParams() and res.names == ["a", "b"]


def test_non_english_keywords_drop_stop_words_and_elisions() -> None:
    assert _words("Bonjour, l'application plante dès que je l'ouvre. Merci d'avance [EMAIL]",
                  OTHER_STOP_WORDS["fr"]) == ["application", "plante", "dès", "ouvre"]
    vec = make_vectorizer(10, "de").fit(["Hallo, wo bleibt meine Erstattung? Danke.",
                                         "Die Erstattung kam nie an, bitte um Hilfe."])
    vocab = set(vec.get_feature_names_out())
    assert "erstattung" in vocab and not vocab & {"hallo", "danke", "die", "bitte"}
