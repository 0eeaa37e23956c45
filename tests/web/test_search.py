"""Full-text search and filters on both databases: matching, safety, keyset pagination."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from web import search as vs


@pytest.fixture
def data(seeded):  # noqa: ANN001, ANN201
    return seeded


def _texts(session, **args) -> list[str]:  # noqa: ANN001, ANN003
    f = vs.VerbatimFilters.from_args(args)
    return [x.text for x in vs.search_page(session, f, limit=500).items]


def test_words_match_all_terms(session, data):  # noqa: ANN001
    texts = _texts(session, q="refund late")
    assert texts and all("refund" in t.lower() and "late" in t.lower() for t in texts)


def test_case_insensitive_and_phrase(session, data):  # noqa: ANN001
    assert _texts(session, q="COURIER")
    phrase = _texts(session, q='"wrong address"')
    assert phrase and all("wrong address" in t for t in phrase)
    assert not _texts(session, q='"address wrong"')


def test_negation(session, data):  # noqa: ANN001
    texts = _texts(session, q="courier -parcel")
    assert texts and all("parcel" not in t.lower() for t in texts)


def test_updated_text_is_reindexed(session, data):  # noqa: ANN001
    from sqlalchemy import select, update

    from voc.models.feedback import Feedback

    fid = session.scalar(select(Feedback.id).limit(1))
    session.execute(update(Feedback).where(Feedback.id == fid).values(text="zebracrossing"))
    session.flush()
    assert _texts(session, q="zebracrossing") == ["zebracrossing"]


def test_items_awaiting_enrichment_are_found(session, data):  # noqa: ANN001
    """On PostgreSQL these are outside the partial GIN index (migration 0008); on SQLite the
    FTS table has every item: either way the search finds them, and enriching them later
    neither loses nor duplicates them."""
    from sqlalchemy import select, update

    from voc.models.base import utcnow
    from voc.models.feedback import Feedback

    fids = list(session.scalars(select(Feedback.id).order_by(Feedback.id).limit(2)))
    session.execute(update(Feedback).where(Feedback.id.in_(fids)).values(
        text="quokkaparcel backlog", enriched_at=None))
    session.execute(update(Feedback).where(Feedback.id == fids[1]).values(enriched_at=utcnow()))
    session.flush()
    assert _texts(session, q="quokkaparcel") == ["quokkaparcel backlog"] * 2
    session.execute(update(Feedback).where(Feedback.id == fids[0]).values(enriched_at=utcnow()))
    session.flush()
    assert _texts(session, q="quokkaparcel backlog") == ["quokkaparcel backlog"] * 2


def test_text_search_is_served_by_indexes(session, data, backend):  # noqa: ANN001
    """PostgreSQL: the partial GIN index serves the match (its predicate is implied), and
    while items await enrichment the enriched_at b-tree serves them, so a rare word never
    costs a full-table to_tsvector. SQLite: the match comes from the FTS5 table."""
    from sqlalchemy import func, select, update

    from voc.models.feedback import Feedback

    def plan() -> str:
        # A rare word: for a common one, walking the newest rows is the better plan.
        stmt = vs.build_query(session, vs.VerbatimFilters.from_args({"q": "quokkaparcel"}))
        conn = session.connection()
        compiled = stmt.order_by(None).compile(dialect=conn.dialect)
        if backend == "sqlite":
            params = tuple(compiled.params[k] for k in compiled.positiontup)
            return " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled), params))
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled),
                                                             compiled.params))

    if backend == "sqlite":
        assert "feedback_fts" in plan()
        return
    # On a few hundred rows any plan is cheap: grow the table (inside the test's rolled-back
    # transaction) so that the planner weighs plans as it does in production.
    cols = ", ".join(c.name for c in Feedback.__table__.columns if c.name != "id")
    copy = cols.replace("external_id", "external_id || '-' || g")
    session.execute(text(f"INSERT INTO feedback ({cols}) SELECT {copy} FROM feedback, "  # noqa: S608
                         "generate_series(1, 40) g"))
    session.execute(text("ANALYZE feedback"))
    no_backlog = plan()
    assert "ix_feedback_text_tsv" in no_backlog and "Seq Scan" not in no_backlog, no_backlog
    first = session.scalar(select(func.min(Feedback.id)))
    session.execute(update(Feedback).where(Feedback.id == first).values(enriched_at=None))
    backlog = plan()
    assert "ix_feedback_text_tsv" in backlog and "ix_feedback_enriched_at" in backlog, backlog
    assert "Seq Scan" not in backlog, backlog


def test_postgres_knows_how_common_a_word_is(session, data, backend):  # noqa: ANN001
    """The planner ignores a partial index's statistics; the extended statistics on the same
    expression (migration 0008) tell it how many items hold a word, which decides between
    walking the newest items and fetching every match (web/search.py)."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL planner statistics")
    conn = session.connection()
    conn.exec_driver_sql("ANALYZE feedback")
    where = "to_tsvector('simple'::regconfig, text) @@ to_tsquery('simple', 'refund')"
    actual = conn.exec_driver_sql(f"SELECT count(*) FROM feedback WHERE {where}").scalar()
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT id FROM feedback WHERE {where}"
                                ).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    estimate = plan[0]["Plan"]["Plan Rows"]
    assert actual >= 20
    assert actual / 3 <= estimate <= actual * 3, (estimate, actual)


@pytest.mark.parametrize("q", ['"', "'", "*", "AND", "OR NOT", "refund AND (", "NEAR(a b)",
                               "col:refund", "^refund", "a\x00b", "--", '"unterminated',
                               "); DROP TABLE feedback; --", "%", "_", "\\", "💥 emoji"])
def test_hostile_queries_never_raise(session, data, q):  # noqa: ANN001
    page = vs.search_page(session, vs.VerbatimFilters.from_args({"q": q}), limit=5)
    assert isinstance(page.items, list)


def test_filters(session, data):  # noqa: ANN001
    f = vs.VerbatimFilters.from_args({"market": "gb", "sentiment": "negative", "csat_max": "2",
                                      "escalated": "yes", "source": "zendesk", "kind": "ticket",
                                      "topic": str(data.topic_ids["refund"])})
    items = vs.search_page(session, f, limit=500).items
    assert items
    for x in items:
        assert x.market == "GB" and x.sentiment_label == "negative" and x.csat <= 2
        assert x.escalated and x.kind == "ticket" and x.topic_id == data.topic_ids["refund"]


def test_date_range(session, data):  # noqa: ANN001
    from datetime import date

    items = vs.search_page(session, vs.VerbatimFilters.from_args(
        {"from": "2026-11-16", "to": "2026-11-22"}), limit=500).items
    assert items and all(date(2026, 11, 16) <= x.created_at.date() <= date(2026, 11, 22)
                         for x in items)


def test_bad_filter_values_raise_filter_error(session, data):  # noqa: ANN001
    for args in ({"from": "yesterday"}, {"csat_min": "9"}, {"sentiment": "angry"},
                 {"escalated": "maybe"}, {"topic": "abc"}):
        with pytest.raises(vs.FilterError):
            vs.VerbatimFilters.from_args(args)
    with pytest.raises(vs.FilterError):
        vs.Cursor.decode("!!!not-a-cursor")


def test_keyset_pagination_covers_everything_once(session, data):  # noqa: ANN001
    seen, cursor = [], None
    f = vs.VerbatimFilters()
    while True:
        page = vs.search_page(session, f, cursor=vs.Cursor.decode(cursor), limit=7)
        seen += [(x.created_at, x.id) for x in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == data.n_feedback == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_highlight_escapes_then_marks() -> None:
    html = vs.highlight("<b>Refund</b> & refunds <script>x</script>", "refund")
    assert "<mark>Refund</mark>" in html and "<mark>refunds</mark>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    # a term can never match inside an entity it did not write
    assert "<mark>" not in vs.highlight("a & b", "amp")
    assert str(vs.highlight("<i>x</i>", "")) == "&lt;i&gt;x&lt;/i&gt;"


def test_parse_terms_and_engine_queries() -> None:
    assert vs.parse_terms('late "wrong size" -spam OR') == (["late", "wrong size"], ["spam"])
    assert vs.fts5_query('late "wrong size" -spam') == '"late" AND "wrong size" NOT "spam"'
    assert vs.pg_websearch('late "wrong size" -spam') == 'late "wrong size" -spam'
    assert vs.fts5_query('" * ( ') is None


def test_csv_safe() -> None:
    assert vs.csv_safe("=1+1") == "'=1+1"
    assert vs.csv_safe("+x") == "'+x" and vs.csv_safe("-x") == "'-x" and vs.csv_safe("@x") == "'@x"
    assert vs.csv_safe("fine") == "fine" and vs.csv_safe(None) == ""


def test_search_page_in_browser_view(as_role, seeded):  # noqa: ANN001
    client = as_role("viewer")
    html = client.get("/verbatims/?q=courier").get_data(as_text=True)
    assert "<mark>courier</mark>" in html or "<mark>Courier</mark>" in html
    assert "cannot login" not in html
    bad = client.get("/verbatims/?from=notadate")
    assert bad.status_code == 200 and "expected a date" in bad.get_data(as_text=True)
    page1 = client.get("/verbatims/").get_data(as_text=True)
    assert 'rel="next"' in page1  # more than one page of seeded items
