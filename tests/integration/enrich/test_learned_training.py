"""`voc sentiment train` path: CSAT-labelled rows in the DB -> stored versions -> backend."""

from __future__ import annotations

import pytest

from voc.nlp.enrich import enrich_pending
from voc.nlp.sentiment import BackendUnavailable, get_backend
from voc.nlp.sentiment.store import latest_version, list_versions, train_from_db

POS = ["Great service, the agent solved it in minutes", "Love the app, works perfectly",
       "Fast delivery and friendly support, thank you", "Excellent, very happy with the refund",
       "Super helpful team, quick answer"]
NEG = ["Terrible support, nobody called me back", "The app crashes every time, useless",
       "Delivery was late and the item arrived broken", "Still no refund after weeks, awful",
       "Rude agent and the problem is not solved"]
NEU = ["I updated my billing address", "The parcel was delivered on Monday",
       "I asked about the invoice format", "Changed my plan to the yearly one",
       "Question about opening hours"]


def survey_items() -> list[dict]:
    items = []
    for i in range(3):
        for text in POS:
            items.append({"text": f"{text} ({i})", "csat": 5 - (i % 2), "kind": "survey"})
        for text in NEG:
            items.append({"text": f"{text} ({i})", "csat": 1 + (i % 2), "kind": "survey"})
        for text in NEU:
            items.append({"text": f"{text} ({i})", "csat": 3, "kind": "survey"})
    return items


def test_train_store_version_and_score(session_factory, settings, add_feedback,  # noqa: ANN001
                                       read_feedback):
    learned = settings.replace(sentiment_backend="learned", sentiment_min_language_rows=5)
    ids = add_feedback(survey_items())
    ticket = add_feedback([{"text": "Terrible support, the app crashes every time. Useless"},
                           {"text": "Die App stürzt ständig ab und niemand hilft mir"}],
                          source="tickets")
    with session_factory() as s, pytest.raises(BackendUnavailable, match="sentiment train"):
        get_backend(learned, s)
    # without a model the enrich step falls back to VADER instead of failing
    first = enrich_pending(session_factory, learned)
    assert first["backend"] == "vader" and first["processed"] == len(ids) + 2

    with session_factory() as s:
        row = train_from_db(s, learned)
        s.commit()
    assert row.version == 1 and row.n_train == 45
    assert row.metrics["class_counts"] == {"negative": 15, "neutral": 15, "positive": 15}
    assert row.metrics["embedded_now"] == 0  # enrich had stored every embedding
    assert 0 <= row.metrics["cv_ece"] <= 1 and row.metrics["cv_macro_recall"] > 0.5
    assert row.languages == ["en"]

    with session_factory() as s:
        backend = get_backend(learned, s)
        assert backend.name == "learned:v1" and backend.supported_languages() == ["en"]
    # rescore everything with the learned model
    with session_factory() as s:
        from sqlalchemy import update

        from voc.models.feedback import Feedback

        s.execute(update(Feedback).values(enriched_at=None))
        s.commit()
    second = enrich_pending(session_factory, learned)
    assert second["backend"] == "learned:v1"
    crash, german = read_feedback(ticket)
    assert crash.sentiment_backend == "learned:v1" and crash.sentiment_label == "negative"
    assert crash.sentiment_score < 0 and crash.pain_quote  # pain quote via VADER sentences
    assert german.sentiment_label == "unsupported" and german.sentiment_score is None

    with session_factory() as s:  # a second training is a new version; the newest is used
        assert train_from_db(s, learned, max_rows=40).version == 2
        s.commit()
        assert [v.version for v in list_versions(s)] == [2, 1]
        assert latest_version(s).n_train == 40
        assert get_backend(learned, s).name == "learned:v2"


def test_training_needs_labelled_rows(session_factory, settings, add_feedback):  # noqa: ANN001
    add_feedback([{"text": "no score here"}])
    with session_factory() as s, pytest.raises(ValueError, match="CSAT"):
        train_from_db(s, settings)


def test_unusable_stored_model_is_refused_and_enrich_keeps_vader(  # noqa: ANN201
        session_factory, settings, add_feedback, read_feedback):  # noqa: ANN001
    """A blob this code cannot read (an unknown format) is refused with a retrain hint."""
    from voc.models.sentiment import SentimentModel

    learned = settings.replace(sentiment_backend="learned")
    (item,) = add_feedback([{"text": "Terrible support, nobody called me back"}])
    with session_factory() as s:
        s.add(SentimentModel(version=1, n_train=0, embedding_model="x", languages=["en"],
                             metrics={}, params={}, blob=b"not an npz"))
        s.commit()
    with session_factory() as s, pytest.raises(BackendUnavailable, match="retrain"):
        get_backend(learned, s)
    res = enrich_pending(session_factory, learned)
    assert res["backend"] == "vader"
    (row,) = read_feedback([item])
    assert row.sentiment_backend == "vader" and row.sentiment_label == "negative"
