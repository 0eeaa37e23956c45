"""`voc enrich`, `voc sentiment status/train/score` and `voc language` on a fresh database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from voc.cli import main
from voc.db import make_engine, session_factory, session_scope
from voc.models.feedback import Feedback, Source


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as s:
            src = Source(name="cli", type="file", kind="survey", settings={}, cursor={})
            s.add(src)
            s.flush()
            from datetime import UTC, datetime

            texts = [("Great help, thanks a lot", 5), ("Awful, the app crashed again", 1),
                     ("I changed my address", 3)] * 12
            s.add_all([Feedback(source_id=src.id, external_id=f"e{i}", kind="survey",
                                csat=csat, created_at=datetime(2026, 11, 2, tzinfo=UTC),
                                text=f"{text} #{i}", content_hash=f"h{i}")
                       for i, (text, csat) in enumerate(texts)])
    finally:
        engine.dispose()


def test_cli_enrich_train_status_score(fresh_db_url, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("VOC_SENTIMENT_MIN_LANGUAGE_ROWS", "5")
    _seed(fresh_db_url)
    runner = CliRunner()
    base = ["--database-url", fresh_db_url]
    res = runner.invoke(main, [*base, "sentiment", "status"])
    assert res.exit_code == 0, res.output
    assert "backend: vader" in res.output and "languages: en" in res.output
    assert "pending: 36" in res.output and "learned models: none" in res.output

    res = runner.invoke(main, [*base, "enrich", "--no-progress", "--batch-size", "16"])
    assert res.exit_code == 0, res.output
    assert "enriched 36 items" in res.output

    res = runner.invoke(main, [*base, "sentiment", "train"])
    assert res.exit_code == 0, res.output
    assert "learned sentiment v1: 36 items" in res.output

    monkeypatch.setenv("VOC_SENTIMENT_BACKEND", "learned")
    res = runner.invoke(main, [*base, "sentiment", "status"])
    assert "name: learned:v1" in res.output and "learned v1" in res.output
    res = runner.invoke(main, [*base, "enrich", "--reset", "--no-progress"])
    assert res.exit_code == 0 and "36 items marked" in res.output
    res = runner.invoke(main, [*base, "sentiment", "score", "The app crashed again, awful",
                               "Die App ist abgestürzt"])
    assert res.exit_code == 0, res.output
    first, second = res.output.strip().splitlines()
    assert "\tnegative\ten\t" in first and second.startswith("-\tunsupported\tde")

    engine = make_engine(fresh_db_url)
    with session_factory(engine)() as s:
        backends = set(s.scalars(select(Feedback.sentiment_backend)))
    engine.dispose()
    assert backends == {"learned:v1"}

    res = runner.invoke(main, [*base, "language"], input="Das ist ein Test der Sprache\nok\n")
    assert res.output.splitlines()[0].startswith("de\t") and res.output.splitlines()[1][0] == "-"


def test_cli_train_without_data_is_one_line(fresh_db_url):  # noqa: ANN001
    res = CliRunner().invoke(main, ["--database-url", fresh_db_url, "sentiment", "train"])
    assert res.exit_code == 1
    assert "cannot train: no feedback with a CSAT score" in res.output
