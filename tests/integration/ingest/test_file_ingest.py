"""File connector through the real service on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.integration.ingest.conftest import write_csv, write_jsonl
from voc.compliance.pseudonym import customer_hash
from voc.db import session_scope
from voc.ingest.connectors.file import FileConnector
from voc.ingest.errors import IngestError
from voc.ingest.service import ingest_source, load_spec
from voc.models.compliance import Tombstone
from voc.models.feedback import Feedback, FeedbackEmbedding, Source
from voc.models.topics import Topic

HEADER = ["id", "text", "created_at", "csat", "market", "customer_id", "channel", "tags",
          "escalated", "ticket_status"]


def test_bad_input_matrix(tmp_path, settings, session_factory, make_source, feedback_rows,
                          quarantine_rows):
    """Each bad row is stored correctly or quarantined with a clear reason; the rest lands."""
    big = "word " * 220_000  # ~1.1 MB
    path = tmp_path / "matrix.csv"
    write_csv(path, HEADER, [
        ["ok", "Refund late, write to anna@example.com", "2026-11-02 10:00:00", "4", "de",
         "C-1", "Email", "refund; billing", "yes", "open"],
        ["", "no id here", "2026-11-02", "", "", "", "", "", "", ""],
        ["no-text", "", "2026-11-02", "", "", "", "", "", "", ""],
        ["blank", "   \t  ", "2026-11-02", "", "", "", "", "", "", ""],
        ["no-date", "text", "", "", "", "", "", "", "", ""],
        ["bad-date", "text", "next tuesday", "", "", "", "", "", "", ""],
        ["csat7", "text", "2026-11-02", "7", "", "", "", "", "", ""],
        ["bad-market", "text", "2026-11-02", "", "Atlantis", "", "", "", "", ""],
        ["bad-bool", "text", "2026-11-02", "", "", "", "", "", "maybe", ""],
        ["html", "<p>Hello&nbsp;<b>team</b> &amp; co</p><script>x()</script><br>Bye",
         "1762077600", "", "", "", "", "", "", ""],
        ["emoji", "Love it 😀🔥 Привет мир 你好 مرحبا", "2026-11-02T10:00:00+01:00", "", "", "",
         "", "", "", ""],
        ["big", big, "2026-11-02T10:00:00Z", "", "", "", "", "", "", ""],
    ])
    make_source("m", kind="survey")
    result = ingest_source(session_factory, "m", settings, path=path)

    assert result.read == 12
    assert result.stored == 4
    assert result.quarantined == 8
    rows = feedback_rows("m")
    assert set(rows) == {"ok", "html", "emoji", "big"}
    ok = rows["ok"]
    assert ok.text == "Refund late, write to [EMAIL]"  # redacted before storing
    assert ok.text_raw is None  # keep_raw_text is off
    assert ok.market == "DE" and ok.csat == 4 and ok.channel == "email" and ok.escalated is True
    assert ok.tags == ["refund", "billing"]
    assert ok.kind == "survey"  # the source's default
    assert ok.customer_hash == customer_hash("C-1", settings) and "C-1" not in str(ok.attributes)
    assert ok.attributes == {"ticket_status": "open"}  # unknown columns are kept
    assert ok.created_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert rows["html"].text == "Hello team & co\n\nBye"  # paragraph kept
    assert rows["html"].attributes["text_was_html"] is True
    assert rows["emoji"].text == "Love it 😀🔥 Привет мир 你好 مرحبا"
    assert rows["emoji"].created_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert len(rows["big"].text) <= settings.ingest_max_text_chars + 1
    assert rows["big"].attributes["text_truncated_from"] == len(big.strip())

    reasons = {q.external_id: q.reason for q in quarantine_rows("m")}
    assert reasons[None] == "missing required field 'id'"
    assert reasons["no-text"] == "text is empty (only whitespace)"
    assert reasons["blank"] == "text is empty (only whitespace)"
    assert reasons["no-date"] == "missing required field 'created_at'"
    assert reasons["bad-date"].startswith("created_at='next tuesday' is not a date")
    assert reasons["csat7"] == "csat=7 is outside 1-5"
    assert reasons["bad-market"] == "market='Atlantis' is not an ISO 3166-1 alpha-2 country code"
    assert reasons["bad-bool"].startswith("escalated='maybe' is not a boolean")
    locations = {q.external_id: q.location for q in quarantine_rows("m")}
    assert locations["csat7"] == "matrix.csv:8"
    assert result.quarantine_samples[0] == "matrix.csv:3: missing required field 'id'"


def test_invalid_utf8_is_quarantined_and_rest_lands(tmp_path, settings, session_factory,
                                                    make_source, feedback_rows, quarantine_rows):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"id,text,created_at\n"
        b"good,caf\xc3\xa9 is fine,2026-11-02\n"
        b"bad,caf\xe9 broken bytes,2026-11-02\n"
        b"good2,still here,2026-11-03\n")
    make_source("u")
    result = ingest_source(session_factory, "u", settings, path=path)
    assert (result.stored, result.quarantined) == (2, 1)
    assert feedback_rows("u")["good"].text == "café is fine"
    [q] = quarantine_rows("u")
    assert q.reason == "invalid UTF-8 in field 'text' (bytes that cannot be decoded)"
    assert q.location == "latin1.csv:3"
    assert "caf\ufffd broken" in q.raw_payload  # stored readable, never with raw bytes


def test_quarantine_payload_is_redacted_and_pseudonymised(tmp_path, settings, session_factory,
                                                          make_source, quarantine_rows):
    path = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "x1", "text": "mail me: bob@example.com", "created_at": "2026-11-02",
         "csat": 9, "customer_id": "CUST-42"},
        '{"id": "x2", "text": "broken',
    ])
    make_source("q")
    result = ingest_source(session_factory, "q", settings, path=path)
    assert result.quarantined == 2
    first, second = quarantine_rows("q")
    assert "bob@example.com" not in first.raw_payload and "[EMAIL]" in first.raw_payload
    assert "CUST-42" not in first.raw_payload
    assert json.loads(first.raw_payload)["customer_id"] == \
        "hash:" + customer_hash("CUST-42", settings)
    assert second.reason.startswith("invalid JSON")
    assert second.location == "q.jsonl:2"
    # Reading the same file again does not pile up copies of the same quarantine entries.
    ingest_source(session_factory, "q", settings, path=path)
    assert len(quarantine_rows("q")) == 2


def test_reingest_unchanged_updated_and_enrichment_reset(tmp_path, settings, session_factory,
                                                         make_source, feedback_rows):
    make_source("r")
    rows = [["a", "App crashes on start", "2026-11-02", "2", "FR", "", "", "", "", "open"],
            ["b", "Refund missing", "2026-11-02", "1", "DE", "", "", "", "", "open"],
            ["c", "Great help", "2026-11-02", "5", "GB", "", "", "", "", "open"]]
    path = write_csv(tmp_path / "r.csv", HEADER, rows)
    first = ingest_source(session_factory, "r", settings, path=path)
    assert (first.stored, first.updated, first.unchanged) == (3, 0, 0)

    again = ingest_source(session_factory, "r", settings, path=path)
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 3)

    # Enrich a and b by hand: a topic, sentiment, an embedding; b's topic is analyst-locked.
    with session_scope(session_factory) as s:
        topic = Topic(label="crashes", keywords=[])
        s.add(topic)
        s.flush()
        now = datetime.now(UTC)
        for fb in s.scalars(select(Feedback).where(Feedback.external_id.in_(["a", "b"]))):
            fb.sentiment_score, fb.sentiment_label, fb.enriched_at = -0.5, "negative", now
            fb.topic_id, fb.topic_score, fb.topic_assigned_at = topic.id, 0.9, now
            fb.topic_locked = fb.external_id == "b"
            s.add(FeedbackEmbedding(feedback_id=fb.id, model="m", vector=np.ones(4)))
    rows[0][1] = "App crashes on start since the update"  # text changed
    rows[1][1] = "Refund still missing"  # text changed, topic locked
    rows[2][9] = "closed"  # only an attribute changed
    write_csv(path, HEADER, rows)
    third = ingest_source(session_factory, "r", settings, path=path)
    assert (third.stored, third.updated, third.unchanged, third.text_changed) == (0, 3, 0, 2)

    got = feedback_rows("r")
    assert len(got) == 3  # updated, never duplicated
    a, b, c = got["a"], got["b"], got["c"]
    assert a.text == "App crashes on start since the update"
    assert a.sentiment_score is None and a.enriched_at is None and a.topic_id is None
    assert b.sentiment_score is None and b.topic_id is not None and b.topic_locked
    assert c.attributes["ticket_status"] == "closed"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(FeedbackEmbedding)
                        .where(FeedbackEmbedding.feedback_id.in_([a.id, b.id]))) == 0


def test_same_id_twice_in_a_file_last_wins(tmp_path, settings, session_factory, make_source,
                                           feedback_rows):
    make_source("d")
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": 1, "text": "first version", "created_at": "2026-11-02"},
        {"id": 1, "text": "second version", "created_at": "2026-11-02"},
    ])
    result = ingest_source(session_factory, "d", settings, path=path)
    assert (result.stored, result.duplicates) == (1, 1)
    assert feedback_rows("d")["1"].text == "second version"


def test_tombstoned_items_are_skipped(tmp_path, settings, session_factory, make_source,
                                      feedback_rows):
    source_id = make_source("t")
    with session_scope(session_factory) as s:
        s.add(Tombstone(source_id=source_id, external_id="gone"))
        s.add(Tombstone(customer_hash=customer_hash("erased-customer", settings)))
    path = write_jsonl(tmp_path / "t.jsonl", [
        {"id": "gone", "text": "erased item", "created_at": "2026-11-02"},
        {"id": "other", "text": "erased customer", "created_at": "2026-11-02",
         "customer_id": "erased-customer"},
        {"id": "kept", "text": "fine", "created_at": "2026-11-02", "customer_id": "someone"},
    ])
    result = ingest_source(session_factory, "t", settings, path=path)
    assert (result.stored, result.skipped_erased) == (1, 2)
    assert set(feedback_rows("t")) == {"kept"}


def test_mapping_for_survey_export(tmp_path, settings, session_factory, make_source,
                                   feedback_rows):
    mapping = {"Q3 - What could we improve?": "text", "Satisfaction": "csat",
               "Response ID": "id", "Submitted": "created_at"}
    make_source("survey", kind="survey", settings={"mapping": mapping})
    path = write_csv(tmp_path / "export.csv",
                     ["Response ID", "Submitted", "Q3 - What could we improve?", "Satisfaction",
                      "Device"],
                     [["R1", "2026-11-02 09:00:00", "Faster refunds please", "2", "iOS"]])
    result = ingest_source(session_factory, "survey", settings, path=path)
    assert result.stored == 1
    row = feedback_rows("survey")["R1"]
    assert (row.text, row.csat, row.kind) == ("Faster refunds please", 2, "survey")
    assert row.attributes == {"Device": "iOS"}


def test_drop_folder_picks_each_file_once(tmp_path, settings, session_factory, make_source,
                                          feedback_rows):
    drop = tmp_path / "drop"
    drop.mkdir()
    write_jsonl(drop / "day1.jsonl", [{"id": "1", "text": "one", "created_at": "2026-11-01"}])
    make_source("drop", settings={"path": str(drop)})
    first = ingest_source(session_factory, "drop", settings)
    assert first.stored == 1

    second = ingest_source(session_factory, "drop", settings)
    assert second.read == 0  # day1 was picked up before

    write_jsonl(drop / "day2.jsonl", [{"id": "2", "text": "two", "created_at": "2026-11-02"},
                                      {"id": "3", "text": "three", "created_at": "2026-11-02"}])
    third = ingest_source(session_factory, "drop", settings)
    assert (third.read, third.stored) == (2, 2)
    assert set(feedback_rows("drop")) == {"1", "2", "3"}
    with session_factory() as s:
        cursor = s.scalar(select(Source.cursor).where(Source.name == "drop"))
    assert set(cursor["files"]) == {"day1.jsonl", "day2.jsonl"}
    assert all(entry["complete"] for entry in cursor["files"].values())


class _CrashAfter(FileConnector):
    """A real file connector that dies after N batches (a crash mid-file)."""

    def __init__(self, *args, crash_after: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.crash_after = crash_after

    def batches(self):  # noqa: ANN201
        for number, batch in enumerate(super().batches(), start=1):
            yield batch
            if number == self.crash_after:
                raise IngestError("simulated crash")


def test_crash_mid_file_resumes_without_duplicates(tmp_path, settings, session_factory,
                                                   make_source, feedback_rows):
    path = write_jsonl(tmp_path / "big.jsonl", [
        {"id": f"i{i}", "text": f"item {i}", "created_at": "2026-11-02"} for i in range(25)])
    small = settings.replace(ingest_batch_size=10)
    make_source("crash", settings={"path": str(path)})
    with session_factory() as s:
        _, spec = load_spec(s, "crash")
    with pytest.raises(IngestError, match="simulated crash"):
        ingest_source(session_factory, "crash", small,
                      connector=_CrashAfter(spec, small, crash_after=2))
    assert len(feedback_rows("crash")) == 20  # two committed batches

    resumed = ingest_source(session_factory, "crash", small)
    assert (resumed.read, resumed.stored, resumed.unchanged) == (5, 5, 0)  # after the cursor
    assert len(feedback_rows("crash")) == 25
    with session_factory() as s:
        assert s.scalar(select(func.count(func.distinct(Feedback.external_id)))) == \
            s.scalar(select(func.count()).select_from(Feedback))


def test_missing_file_is_one_clear_error(tmp_path, settings, session_factory, make_source):
    make_source("gone")
    with pytest.raises(IngestError, match=r"^source 'gone': file not found: .*nope\.csv$"):
        ingest_source(session_factory, "gone", settings, path=tmp_path / "nope.csv")
    with pytest.raises(IngestError, match="no source named 'unknown'"):
        ingest_source(session_factory, "unknown", settings)


def test_keep_raw_text_setting(tmp_path, settings, session_factory, make_source, feedback_rows):
    make_source("raw")
    path = write_jsonl(tmp_path / "raw.jsonl", [
        {"id": "1", "text": "reach me at joe@example.com", "created_at": "2026-11-02"}])
    ingest_source(session_factory, "raw", settings.replace(keep_raw_text=True), path=path)
    row = feedback_rows("raw")["1"]
    assert row.text == "reach me at [EMAIL]"
    assert row.text_raw == "reach me at joe@example.com"


def test_drop_dir_setting_registers_a_drop_source(tmp_path, settings, session_factory,
                                                  feedback_rows):
    from voc.ingest.service import ingest_all

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "export.jsonl", [{"id": "1", "text": "hi", "created_at": "2026-11-02"}])
    results = ingest_all(session_factory, settings.replace(drop_dir=inbox))
    assert results["drop"].stored == 1 and results["drop"].error is None
    assert set(feedback_rows("drop")) == {"1"}
    again = ingest_all(session_factory, settings.replace(drop_dir=inbox))
    assert again["drop"].read == 0


def test_nul_characters_do_not_break_a_batch(tmp_path, settings, session_factory, make_source,
                                             feedback_rows):
    """PostgreSQL refuses NUL in text and JSONB: it is dropped, the row and batch land."""
    make_source("nul")
    path = write_jsonl(tmp_path / "nul.jsonl", [
        {"id": "n\u00001", "text": "te\u0000xt", "created_at": "2026-11-02",
         "channel": "e\u0000mail", "note": "a\u0000b", "tags": ["x\u0000"]},
        {"id": "plain", "text": "fine", "created_at": "2026-11-02"},
    ])
    result = ingest_source(session_factory, "nul", settings, path=path)
    assert (result.stored, result.quarantined) == (2, 0)
    row = feedback_rows("nul")["n1"]
    assert (row.text, row.channel, row.attributes, row.tags) == ("text", "email", {"note": "ab"},
                                                                 ["x"])


def test_special_characters_round_trip(tmp_path, settings, session_factory, make_source,
                                       feedback_rows):
    """Tabs, backslashes, line breaks and quotes survive the bulk write (PostgreSQL's COPY
    text format escapes them) in every column that can hold them."""
    from voc.ingest.records import RecordBuilder

    make_source("esc")
    rows = [
        {"id": "tab\tid\\x", "text": "line one\nline\ttwo \\N \\. back\\slash\r\nend",
         "created_at": "2026-11-02T10:00:00+05:30", "channel": "e\\mail", "product_area": "a\tb",
         "tags": ["q\"uote", "back\\slash"], "note": "multi\nline \"q\" \\ \t tab",
         "nested": {"k": ["\\N", 1.5, None]}, "customer_id": "c\\1"},
        {"id": "\\.", "text": "\\.", "created_at": "2026-11-02"},
        {"id": "\\N", "text": "\\N", "created_at": "2026-11-02", "channel": "\\N",
         "product_area": "\\N", "tags": ["\\N"], "customer_id": "\\N"},
        {"id": "plain", "text": "fine", "created_at": "2026-11-02", "csat": "5", "nps": 0,
         "escalated": "no", "resolved": True},
    ]
    path = write_jsonl(tmp_path / "esc.jsonl", rows)
    result = ingest_source(session_factory, "esc", settings, path=path)
    assert (result.stored, result.quarantined) == (4, 0)
    builder = RecordBuilder(settings)
    got = feedback_rows("esc")
    for raw in rows:
        want = builder.build(raw, "x")
        row = got[want.external_id]
        assert (row.text, row.channel, row.product_area, row.tags, row.attributes,
                row.customer_hash, row.content_hash, row.csat, row.nps, row.escalated,
                row.resolved, row.kind) == \
            (want.text, want.channel, want.product_area, want.tags, want.attributes,
             want.customer_hash, want.content_hash, want.csat, want.nps, want.escalated,
             want.resolved, want.kind)
        assert row.created_at.replace(tzinfo=UTC) == want.created_at
    again = ingest_source(session_factory, "esc", settings, path=path)
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 4)


def test_all_new_guess_falls_back_when_items_exist(settings, session_factory, make_source,
                                                   feedback_rows):
    """The bulk-load guess (write without looking up stored items) is only a shortcut: with
    stored items the batch takes the normal path, counts stay exact, nothing duplicates."""
    from voc.ingest.records import RecordBuilder
    from voc.ingest.upsert import upsert_batch

    source_id = make_source("guess")
    builder = RecordBuilder(settings)

    def batch(texts: dict[str, str]) -> list:
        return [builder.build({"id": k, "text": t, "created_at": "2026-11-02"}, f"x:{k}")
                for k, t in texts.items()]

    with session_scope(session_factory) as s:
        counts = upsert_batch(s, source_id, "guess", batch({"a": "one", "b": "two"}), [],
                              settings, all_new=True)
    assert (counts.stored, counts.guessed_wrong) == (2, False)
    with session_scope(session_factory) as s:
        counts = upsert_batch(s, source_id, "guess",
                              batch({"c": "three", "a": "one", "b": "two, edited"}), [],
                              settings, all_new=True)
    # SQLite has no shortcut: it always looks up first, so it never guesses wrong
    assert counts.guessed_wrong == (session_factory().get_bind().dialect.name == "postgresql")
    assert (counts.stored, counts.updated, counts.unchanged, counts.text_changed) == \
        (1, 1, 1, 1)
    got = feedback_rows("guess")
    assert sorted(got) == ["a", "b", "c"] and got["b"].text == "two, edited"


def test_copy_text_is_utf8_whatever_the_client_encoding(tmp_path, backend, fresh_db_url,
                                                        settings):
    """The COPY payload is encoded UTF-8 and says so (``ENCODING 'UTF8'``): a connection with
    another client encoding still stores the text as written, not as mojibake."""
    from sqlalchemy import create_engine

    from voc.db import session_factory as make_factory

    kwargs = {"connect_args": {"options": "-c client_encoding=LATIN1"}} \
        if backend == "postgresql" else {}
    engine = create_engine(fresh_db_url, **kwargs)
    factory = make_factory(engine)
    try:
        with session_scope(factory) as s:
            s.add(Source(name="enc", type="file", kind="ticket", settings={}, cursor={}))
        path = tmp_path / "enc.jsonl"
        write_jsonl(path, [{"id": "e1", "text": "Café crème, déjà payé", "created_at":
                            "2026-11-02T10:00:00"}])
        result = ingest_source(factory, "enc", settings.replace(database_url=fresh_db_url),
                               path=path)
        assert result.stored == 1
        with factory() as s:
            assert s.scalar(select(Feedback.text)) == "Café crème, déjà payé"
    finally:
        engine.dispose()
