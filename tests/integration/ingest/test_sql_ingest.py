"""SQL connector against a real second database (SQLite file or PostgreSQL database)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from voc.ingest.errors import IngestError
from voc.ingest.service import ingest_source
from voc.models.feedback import Source

QUERY = ("SELECT response_id, comment, submitted_at, score, country, updated_at "
         "FROM survey_responses WHERE updated_at > :watermark ORDER BY updated_at")
MAPPING = {"response_id": "id", "comment": "text", "submitted_at": "created_at",
           "score": "csat", "country": "market"}


@pytest.fixture
def warehouse(backend, db_factory) -> str:
    """A second, un-migrated database with a survey_responses table."""
    url = db_factory.create(backend, migrated=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE survey_responses (response_id VARCHAR(20) PRIMARY KEY, "
                          "comment TEXT, submitted_at TIMESTAMP, score INTEGER, "
                          "country VARCHAR(2), updated_at TIMESTAMP)"))
        conn.execute(text("INSERT INTO survey_responses VALUES (:id, :c, :s, :score, :m, :u)"), [
            {"id": f"R{i}", "c": f"comment {i}", "s": f"2026-11-0{1 + i % 5} 10:00:00",
             "score": 1 + i % 5, "m": "DE", "u": f"2026-11-10 10:00:{i:02d}"}
            for i in range(7)])
    engine.dispose()
    return url


def _add_sql_source(make_source, url: str, name: str = "warehouse", **extra) -> None:
    make_source(name, type="sql", kind="survey", settings={
        "url": url, "query": QUERY, "watermark_column": "updated_at", "mapping": MAPPING,
        "batch_size": 3, **extra})


def test_watermark_resume_and_updates(warehouse, settings, session_factory, make_source,
                                      feedback_rows):
    _add_sql_source(make_source, warehouse)
    first = ingest_source(session_factory, "warehouse", settings)
    assert (first.read, first.stored, first.batches) == (7, 7, 3)
    rows = feedback_rows("warehouse")
    assert rows["R3"].text == "comment 3" and rows["R3"].csat == 4 and rows["R3"].kind == "survey"
    assert rows["R3"].attributes["updated_at"].startswith("2026-11-10")
    with session_factory() as s:
        cursor = s.scalar(select(Source.cursor).where(Source.name == "warehouse"))
    assert cursor["watermark"].replace("T", " ").startswith("2026-11-10 10:00:06")

    second = ingest_source(session_factory, "warehouse", settings)
    assert second.read == 0  # nothing after the watermark

    engine = create_engine(warehouse)
    with engine.begin() as conn:
        conn.execute(text("UPDATE survey_responses SET comment = 'edited', "
                          "updated_at = '2026-11-11 09:00:00' WHERE response_id = 'R2'"))
        conn.execute(text("INSERT INTO survey_responses VALUES ('R9', 'new one', "
                          "'2026-11-11 08:00:00', 5, 'FR', '2026-11-11 08:00:00')"))
    engine.dispose()
    third = ingest_source(session_factory, "warehouse", settings)
    assert (third.read, third.stored, third.updated) == (2, 1, 1)
    rows = feedback_rows("warehouse")
    assert len(rows) == 8 and rows["R2"].text == "edited" and rows["R9"].market == "FR"


def test_unreachable_and_bad_database_are_one_line(backend, tmp_path, settings, session_factory,
                                                   make_source):
    if backend == "sqlite":
        bad_url = f"sqlite:///{tmp_path}/no/such/dir/warehouse.db"
        expected = "unable to open database file"
    else:
        bad_url = "postgresql+psycopg2://nobody:wrong@127.0.0.1:5432/no_such_warehouse"
        expected = "nobody"  # trust auth here: the server rejects the unknown role
    _add_sql_source(make_source, bad_url, name="badwh")
    with pytest.raises(IngestError) as err:
        ingest_source(session_factory, "badwh", settings)
    message = str(err.value)
    assert message.startswith("source 'badwh': cannot query ")
    assert expected in message and "\n" not in message
    assert "wrong" not in message  # the password is never shown

    _add_sql_source(make_source, "postgresql+psycopg2://u:pw@127.0.0.1:1/db", name="down")
    with pytest.raises(IngestError, match=r"^source 'down': cannot query .*refused"):
        ingest_source(session_factory, "down", settings)


def test_query_without_watermark_column(warehouse, settings, session_factory, make_source):
    _add_sql_source(make_source, warehouse, name="nowm", watermark_column="changed")
    with pytest.raises(IngestError, match="the query has no column 'changed'"):
        ingest_source(session_factory, "nowm", settings)
