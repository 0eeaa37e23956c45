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


@pytest.mark.parametrize("mapping", [
    {},
    {"Client": "customer_id"},
    {"Comment": "text", "text": "note"},  # a mapped column beats the canonical one...
    {"Score": "csat", "CSAT": "csat", "Extra": "notes"},  # ...and the first mapped one wins
    {"attributes": "extra"},
])
def test_column_plans_match_the_general_walk(mapping):
    """Rows with the same columns replay a cached plan: same fields and attributes as the
    value-by-value walk, whatever the column order, case, blanks or nested attributes."""
    builder = RecordBuilder(SETTINGS, mapping=mapping)
    payloads = [
        {"id": "1", "Text": "hi", "created_at": "2026-11-02", "Client": "C", "Comment": "c",
         "text": "t", "Score": "4", "CSAT": "5", "Extra": "", "attributes": {"plan": "pro"},
         " Market ": "fr", "Device": "", "notes": "n"},
        {"attributes": "not an object", "TEXT": "x", "Text": "y", "id": None, "market": "de",
         "Market": "fr", "Device": "iOS"},
    ]
    for payload in payloads:
        for order in (list(payload), list(reversed(payload))):
            row = {k: payload[k] for k in order}
            for _ in range(2):  # the second time through the cached plan
                assert builder.split_fields(row) == builder._split_general(row)
                assert list(builder.split_fields(row)[0]) == list(builder._split_general(row)[0])


def test_remembered_labels_never_hide_a_bad_value():
    """Valid label combinations are parsed once; a bad value is reported every time, and
    1 / True / "1" are never confused (only strings are remembered)."""
    builder = RecordBuilder(SETTINGS)
    base = {"id": "1", "text": "x", "created_at": "2026-11-02", "csat": "1", "escalated": "1"}
    first = builder.build(base, "f:1")
    assert (first.csat, first.escalated) == (1, True)
    assert builder.build(base, "f:2").content_hash == first.content_hash
    assert builder.build({**base, "csat": True}, "f:3").reason == "csat=True is not a number"
    assert builder.build({**base, "escalated": 1}, "f:4").escalated is True
    for loc in ("f:5", "f:6"):
        assert builder.build({**base, "market": "Atlantis"}, loc).reason == \
            "market='Atlantis' is not an ISO 3166-1 alpha-2 country code"
    # created_at is checked after kind and before the labels, as ever
    bad = {**base, "kind": "email", "created_at": "never", "market": "Atlantis"}
    assert builder.build(bad, "f:7").reason.startswith("kind='email'")
    assert builder.build({**bad, "kind": "ticket"}, "f:8").reason.startswith("created_at='never'")
    tagged = builder.build({**base, "tags": "a;b"}, "f:9")
    tagged.tags.append("mutated")
    assert builder.build({**base, "tags": "a;b"}, "f:10").tags == ["a", "b"]


@pytest.mark.parametrize("value, expected", [
    ("2026-11-02T10:00:00+02:00", datetime(2026, 11, 2, 8, tzinfo=UTC)),
    ("2026-11-02T10:00:00.5Z", datetime(2026, 11, 2, 10, 0, 0, 500000, tzinfo=UTC)),
    ("2026-11-02 10:00", datetime(2026, 11, 2, 10, tzinfo=UTC)),
    ("2026-11-02 ", datetime(2026, 11, 2, tzinfo=UTC)),  # the C parser refuses: the fallback
])
def test_fast_date_path_agrees_with_the_parser(value, expected):
    builder = RecordBuilder(SETTINGS)
    record = builder.build({"id": "1", "text": "x", "created_at": value}, "f:1")
    assert record.created_at == expected == v.parse_datetime(value)
    assert builder.build({"id": "1", "text": "x", "created_at": "9999-01-01T00:00:00"},
                         "f:2").reason == "created_at='9999-01-01T00:00:00' is not a plausible date"


def test_odd_values_are_quarantined_not_raised():
    """Values that used to raise inside the builder (and stop the whole ingest)."""
    builder = RecordBuilder(SETTINGS)
    base = {"id": "1", "text": "x", "created_at": "2026-11-02"}
    assert builder.build({**base, "language": ["en"]}, "f:1").reason == \
        "language=['en'] is not an ISO 639-1 language code"
    assert builder.build({**base, "csat": "inf"}, "f:2").reason == \
        "csat='inf' is not a whole number (1-5)"
    bad_id = "caf" + b"\xe9".decode("utf-8", "surrogateescape")
    rejected = builder.build({**base, "customer_id": bad_id}, "f:3")
    assert rejected.reason.startswith("invalid UTF-8 in field 'customer_id'")
    assert rejected.payload["customer_id"].startswith("hash:")


def test_plain_text_fast_path_matches_full_cleaning():
    for text in ["  plain words  ", "tab\tinside", "a < b & c", "nbsp\u00a0here", "x\u2028y",
                 "emoji 😀 mixed 中文", "\x7fdel", "a\x00b"]:
        full = clean_text("\n" + text)  # a line break forces the full path
        assert clean_text(text) == full


def test_to_json_fast_path_matches_the_encoder():
    from voc.ingest.records import _ENCODER, to_json

    for value in [{}, {"b": "1", "a": "x\"\\\n\u00e9\u0000"}, {"a": 1, "b": "2"},
                  {"a": {"n": "1"}}, {1: "x", 2.5: "z"}, {"k": None}, ["a"]]:
        assert to_json(value) == _ENCODER.encode(value).replace("\\u0000", "")
