"""The learned classifier: fitting, calibration metrics, safe round trip, backend rules."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from voc.nlp.sentiment import UNSUPPORTED
from voc.nlp.sentiment.learned import (
    WEIGHT_GRID,
    IncompatibleModel,
    LearnedBackend,
    LearnedModel,
    brier,
    csat_to_label,
    cue_features,
    ece,
    fit_learned,
    macro_recall,
    normalise_text,
    prior_decision,
    sentence_polarity,
)
from voc.nlp.sentiment.vader import VaderBackend

POS = ["love the new app", "great support, thanks", "fast delivery, very happy",
       "works perfectly now", "excellent service and friendly staff"]
NEG = ["the app keeps crashing", "terrible support, never again", "delivery late and broken",
       "refund still missing", "awful, I want to cancel"]
NEU = ["I changed my address", "the parcel came on monday", "question about my invoice",
       "where do I find the settings", "I ordered two items"]


def synthetic(n_per_class: int = 30, seed: int = 0):  # noqa: ANN201
    rng = np.random.default_rng(seed)
    texts, labels, vecs = [], [], []
    centers = rng.normal(size=(3, 16))
    for label, pool in ((0, NEG), (1, NEU), (2, POS)):
        for i in range(n_per_class):
            texts.append(f"{pool[i % len(pool)]} #{i}")
            labels.append(label)
            v = centers[label] + rng.normal(scale=1.5, size=16)
            vecs.append(v / np.linalg.norm(v))
    return texts, np.array(labels), np.array(vecs, dtype=np.float32)


def test_csat_weak_labels():
    assert [csat_to_label(c) for c in (1, 2, 3, 4, 5)] == [0, 0, 1, 2, 2]
    assert csat_to_label(0) is None and csat_to_label(None) is None


def test_metrics_helpers():
    y = np.array([0, 1, 2, 2])
    assert macro_recall(y, np.array([0, 1, 2, 0])) == pytest.approx((1 + 1 + 0.5) / 3)
    perfect = np.eye(3)[y]
    assert brier(y, perfect) == 0.0 and ece(y, perfect) == 0.0


@pytest.fixture(scope="module")
def model() -> LearnedModel:
    texts, labels, emb = synthetic()
    langs = ["en"] * 80 + ["de"] * 10
    return fit_learned(texts, labels, emb, embedding_model="test-emb", languages=langs,
                       min_language_rows=20, c_grid=(1.0,), folds=3)


def test_fit_reports_cross_validated_calibrated_metrics(model: LearnedModel):
    m = model.metrics
    assert m["class_counts"] == {"negative": 30, "neutral": 30, "positive": 30}
    assert m["cv_macro_recall"] >= 0.8  # the classes are separable by words
    assert 0.0 <= m["cv_ece"] <= 0.25 and 0.0 <= m["cv_brier"] <= 1.0
    assert model.temperature > 0 and model.params["C"] == 1.0
    assert model.languages == ["en"]  # "de" had fewer than min_language_rows
    assert model.n_train == 90


def test_round_trip_without_pickle(model: LearnedModel):
    texts, _, emb = synthetic(seed=1)
    blob = model.to_bytes()
    again = LearnedModel.from_bytes(blob)
    np.testing.assert_allclose(model.predict_proba(texts, emb), again.predict_proba(texts, emb),
                               atol=1e-5)
    assert again.languages == model.languages and again.metrics == model.metrics
    with np.load(__import__("io").BytesIO(blob), allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_backend_scores_and_refuses_untrained_languages(model: LearnedModel):
    backend = LearnedBackend(model, version=3)
    assert backend.name == "learned:v3" and backend.supported_languages() == ["en"]
    texts, labels, emb = synthetic(n_per_class=5, seed=2)
    langs = ["en"] * 14 + ["fr"]
    res = backend.score_many(texts, langs, embeddings=emb)
    assert res[-1].label == UNSUPPORTED and res[-1].score is None
    scored = res[:-1]
    assert all(-1 <= r.score <= 1 for r in scored)
    accuracy = np.mean([r.label == ("negative", "neutral", "positive")[y]
                        for r, y in zip(scored, labels[:-1], strict=True)])
    assert accuracy >= 0.8
    pos = [r.score for r, y in zip(scored, labels, strict=False) if y == 2]
    neg = [r.score for r, y in zip(scored, labels, strict=False) if y == 0]
    assert min(pos) > max(neg)  # score = P(pos) - P(neg) orders the classes


def test_refuses_too_little_or_one_sided_data():
    texts, labels, emb = synthetic(n_per_class=20)
    with pytest.raises(ValueError, match="labelled negative"):
        fit_learned(texts[20:], labels[20:], emb[20:], embedding_model="e")
    with pytest.raises(ValueError, match="at least"):
        fit_learned(texts[:5], labels[:5], emb[:5], embedding_model="e")


def test_sentence_polarity_sees_mixed_reviews():
    feats = sentence_polarity(["Tastes wonderful. But it arrived crushed and stale.",
                               "Great stuff, love it!", ""])
    assert feats.shape == (3, 6)
    lo, hi = feats[0, 0], feats[0, 1]
    assert lo < -0.05 and hi > 0.05  # one good and one bad sentence
    assert feats[0, 4] == feats[0, 5] == 0.5  # half positive, half negative sentences
    assert feats[1, 0] > 0.05 and np.all(feats[2] == 0)


def test_selection_grid_is_cross_validated_and_recorded():
    texts, labels, emb = synthetic()
    m = fit_learned(texts, labels, emb, embedding_model="e", c_grid=(0.5, 2.0), folds=3)
    grid = m.metrics["cv_grid"]
    assert len(grid) == len(WEIGHT_GRID) * 2
    best = max(g["cv_macro_recall"] for g in grid)
    chosen = [g for g in grid if g["C"] == m.params["C"]
              and WEIGHT_GRID[g["weights"]] == m.featurizer.weights]
    assert chosen and chosen[0]["cv_macro_recall"] == best == m.metrics["cv_macro_recall"]


def test_decision_divides_by_the_training_prior():
    probs = np.array([[0.3, 0.4, 0.3], [0.05, 0.9, 0.05]])
    prior = np.array([0.1, 0.6, 0.3])
    # p / prior = (3, 0.67, 1) and (0.5, 1.5, 0.17)
    assert prior_decision(probs, prior).tolist() == [0, 1]
    texts, labels, emb = synthetic()
    keep = np.r_[0:10, 30:90]  # negative is rare: 10 of 70
    m = fit_learned([texts[i] for i in keep], labels[keep], emb[keep], embedding_model="e",
                    c_grid=(1.0,), folds=3)
    np.testing.assert_allclose(m.decision_bias(), -np.log(m.prior))
    assert m.prior[0] == pytest.approx(10 / 70)
    p = m.predict_proba(texts, emb)
    assert (m.decide(p) == prior_decision(p, m.prior)).all()


def test_normalise_text_undoes_export_artefacts():
    raw = 'I don\\u2019t like it \\ud83d\\ude00 &amp; \\"more\\" \\udc00'
    assert normalise_text(raw) == 'I don\'t like it \U0001F600 & "more" '
    assert normalise_text("Q&A at 5 \u2018sharp\u2019") == "Q&A at 5 'sharp'"
    plain = "Plain text, C:\\users\\me, stays."
    assert normalise_text(plain) == plain
    vader = VaderBackend()
    # why: VADER's negation rule only sees the apostrophe once it is a real one
    assert vader.score(raw) > 0 > vader.score(normalise_text(raw))


def test_cue_features_count_lexicon_and_style_cues():
    f = cue_features(["I LOVE it!!! sooo good :)", "not bad?", ""])
    assert f.shape == (3, 10)
    loud, hedged, empty = f
    assert loud[0] > 0 and loud[1] == 0 and loud[2] > 0  # positive words only
    assert loud[4] == pytest.approx(3 / 5) and loud[6] > 0 and loud[7] > 0  # !!!, LOVE, sooo
    assert hedged[1] > 0 and hedged[5] > 0 and hedged[8] > 0  # "bad", "?", "not"
    assert np.all(empty == 0)


def _arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _blob(arrays: dict[str, np.ndarray], **meta_changes: object) -> bytes:
    meta = json.loads(str(arrays["meta"]))
    for key, value in meta_changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    buf = io.BytesIO()
    np.savez_compressed(buf, **{**arrays, "meta": np.array(json.dumps(meta))})
    return buf.getvalue()


def test_loads_models_stored_by_earlier_versions():
    """Earlier formats: no sentence/cue blocks, raw (unnormalised) text, tuned decision
    offsets, or no stored offsets (-alpha * log prior): each loads and predicts as before."""
    texts, _, emb = synthetic(seed=3)
    old = fit_learned(*synthetic(), embedding_model="e", c_grid=(1.0,), folds=3,
                      weight_grid=({"embedding": 1.0, "word": 1.0, "char": 1.0,
                                    "vader": 0.5},))
    old.featurizer.normalise = False  # as fitted before normalisation existed
    old.alpha, old.bias = 0.7, np.array([1.3, 0.6, 0.6])  # tuned offsets, as stored then
    arrays = _arrays(old.to_bytes())
    assert set(json.loads(str(arrays["meta"]))["weights"]) == {"embedding", "word", "char",
                                                                 "vader"}
    again = LearnedModel.from_bytes(_blob(arrays, normalise=None))
    assert again.featurizer.normalise is False
    assert again.featurizer.weights["sentences"] == again.featurizer.weights["cues"] == 0.0
    np.testing.assert_allclose(again.decision_bias(), [1.3, 0.6, 0.6])
    np.testing.assert_allclose(old.predict_proba(texts, emb), again.predict_proba(texts, emb),
                               atol=1e-5)
    no_bias = {k: v for k, v in arrays.items() if k != "bias"}
    older = LearnedModel.from_bytes(_blob(no_bias, normalise=None, weights=None))
    assert older.featurizer.weights["vader"] == 0.5  # the weights of the first format
    np.testing.assert_allclose(older.decision_bias(), -0.7 * np.log(old.prior))


def test_refuses_blobs_it_cannot_use(model: LearnedModel):
    arrays = _arrays(model.to_bytes())
    narrow = {**arrays, "coef": arrays["coef"][:, :-3]}
    with pytest.raises(IncompatibleModel, match="retrain"):
        LearnedModel.from_bytes(_blob(narrow))
    with pytest.raises(IncompatibleModel, match="retrain"):
        LearnedModel.from_bytes(b"not a model")
    with pytest.raises(IncompatibleModel, match="retrain"):
        LearnedModel.from_bytes(_blob({k: v for k, v in arrays.items() if k != "coef"}))
