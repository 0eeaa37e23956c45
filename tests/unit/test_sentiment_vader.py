"""VADER backend and the shared result rules."""

from __future__ import annotations

from voc import config
from voc.nlp.sentiment import UNSUPPORTED, get_backend, label_for_score


def test_label_thresholds():
    assert label_for_score(0.05) == "positive"
    assert label_for_score(-0.05) == "negative"
    assert label_for_score(0.0) == "neutral" and label_for_score(0.049) == "neutral"


def test_vader_scores_english_and_refuses_other_languages():
    backend = get_backend(config.load({}))
    assert backend.name == "vader" and backend.supported_languages() == ["en"]
    res = backend.score_many(
        ["I love this, support was fantastic!", "Terrible. The app crashes and I lost my data.",
         "The parcel arrived on Tuesday.", "Das ist wirklich schlecht", "great"],
        ["en", "en", "en", "de", None])
    assert res[0].label == "positive" and res[0].score > 0.5
    assert res[1].label == "negative" and res[1].score < -0.5
    assert res[2].label == "neutral" and abs(res[2].score) < 0.05
    # German: not a guess, just unsupported
    assert res[3].label == UNSUPPORTED and res[3].score is None and not res[3].supported
    # unknown language (too short to detect) is scored as English
    assert res[4].label == "positive"
    assert all(-1 <= r.score <= 1 for r in res if r.score is not None)
