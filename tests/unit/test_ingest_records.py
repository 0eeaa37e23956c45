"""Canonical record parsing and validation (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voc import config
from voc.ingest import values as v
from voc.ingest.errors import InvalidValue
from voc.ingest.records import Record, RecordBuilder, Rejected
from voc.ingest.text import clean_text, html_to_text, truncate

SETTINGS = config.load({}, pseudonym_key="unit-key", env="test")


@pytest.mark.parametrize("raw, expected", [
    ("2026-11-02T10:00:00Z", datetime(2026, 11, 2, 10, tzinfo=UTC)),
    ("2026-11-02T12:00:00+02:00", datetime(2026, 11, 2, 10, tzinfo=UTC)),
    ("2026-11-02 10:00:00", datetime(2026, 11, 2, 10, tzinfo=UTC)),  # naive = UTC
    ("2026/11/02 10:00", datetime(2026, 11, 2, 10, tzinfo=UTC)),
    ("2026-11-02", datetime(2026, 11, 2, tzinfo=UTC)),
    ("1762077600", datetime(2025, 11, 2, 10, tzinfo=UTC)),  # epoch seconds
    (1762077600000, datetime(2025, 11, 2, 10, tzinfo=UTC)),  # epoch milliseconds
    ("Mon, 02 Nov 2026 10:00:00 +0000", datetime(2026, 11, 2, 10, tzinfo=UTC)),
])
def test_dates(raw, expected):
    assert v.parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["yesterday", "31/02/2026", "2026-13-01", "0001-01-01"])
def test_bad_dates(raw):
    with pytest.raises(InvalidValue, match="created_at="):
        v.parse_datetime(raw)


def test_scores_booleans_codes():
    assert v.parse_int_range("4", "csat", 1, 5) == 4
    assert v.parse_int_range(4.0, "csat", 1, 5) == 4
    assert v.parse_int_range("", "csat", 1, 5) is None
    assert v.parse_int_range("0", "nps", 0, 10) == 0
    with pytest.raises(InvalidValue, match=r"^csat=7 is outside 1-5$"):
        v.parse_int_range("7", "csat", 1, 5)
    with pytest.raises(InvalidValue, match="not a whole number"):
        v.parse_int_range("3.5", "csat", 1, 5)
    with pytest.raises(InvalidValue, match="nps='ten' is not a number"):
        v.parse_int_range("ten", "nps", 0, 10)
    for raw, expected in [("yes", True), ("No", False), ("1", True), ("0", False),
                          ("TRUE", True), (False, False), ("", None)]:
        assert v.parse_bool(raw, "resolved") is expected
    assert v.parse_market(" de ") == "DE" and v.parse_market("uk") == "GB"
    with pytest.raises(InvalidValue, match="not an ISO 3166-1"):
        v.parse_market("Germany")
    assert v.parse_language("en-US") == "en" and v.parse_language("PT_br") == "pt"
    with pytest.raises(InvalidValue, match="not an ISO 639-1"):
        v.parse_language("klingon")
    assert v.parse_tags("a; b;;a ") == ["a", "b"]
    assert v.parse_tags(["x", " y "]) == ["x", "y"]


def test_text_cleaning():
    assert html_to_text("<div>Hi<br/>there &eacute;</div>").strip() == "Hi\nthere é"
    text, was_html = clean_text("  <p>Price &lt; 5&euro;</p><style>p{}</style> ")
    assert (text, was_html) == ("Price < 5€", True)
    assert clean_text("a < b and c > d") == ("a < b and c > d", False)  # not markup
    assert clean_text("line1\r\nline2\x00\x07") == ("line1\nline2", False)
    assert clean_text("emoji 😀 and 中文 stay") == ("emoji 😀 and 中文 stay", False)
    cut, original = truncate("x" * 50, 10)
    assert original == 50 and cut == "x" * 10 + "…"
    assert truncate("short", 10) == ("short", None)


def test_builder_mapping_attributes_and_hash():
    builder = RecordBuilder(SETTINGS, default_kind="survey", mapping={
        "Response ID": "id", "Comment": "text", "When": "created_at", "via.channel": "channel"})
    payload = {"Response ID": 17, "Comment": "Too slow", "When": "2026-11-02",
               "via": {"channel": "Email"}, "Device": "iOS", "Empty": "",
               "attributes": {"plan": "pro"}, "Market": "fr", "customer_id": "C-9"}
    record = builder.build(payload, "f.csv:2")
    assert isinstance(record, Record)
    assert (record.external_id, record.text, record.kind, record.channel, record.market) == \
        ("17", "Too slow", "survey", "email", "FR")
    assert record.attributes == {"via": {"channel": "Email"}, "Device": "iOS", "plan": "pro"}
    assert record.customer_hash and record.customer_hash != "C-9"
    same = builder.build(dict(payload), "f.csv:9")
    assert same.content_hash == record.content_hash  # location is not part of the content
    changed = builder.build({**payload, "Device": "Android"}, "f.csv:2")
    assert changed.content_hash != record.content_hash


def test_builder_rejections_carry_reason_and_pseudonymised_payload():
    builder = RecordBuilder(SETTINGS, mapping={"Client": "customer_id"})
    rejected = builder.build({"id": "1", "text": "x", "created_at": "2026-11-02",
                              "kind": "email", "Client": "C-1"}, "f:2")
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "kind='email' is not one of ticket, survey, review, chat"
    assert rejected.payload["Client"].startswith("hash:") and rejected.external_id == "1"
    assert builder.build(["not", "a", "row"], "f:3").reason == "expected an object/row, got list"
    assert builder.build({"id": "2", "text": {"a": 1}, "created_at": "2026-11-02"},
                         "f:4").reason == "text must be a string, got dict"
    assert builder.build({"id": "3", "text": "<p> </p>", "created_at": "2026-11-02"},
                         "f:5").reason == "text is empty after removing markup and whitespace"
    bad_bytes = "caf" + b"\xe9".decode("utf-8", "surrogateescape")
    assert builder.build({"id": "4", "text": bad_bytes, "created_at": "2026-11-02"},
                         "f:6").reason.startswith("invalid UTF-8 in field 'text'")
