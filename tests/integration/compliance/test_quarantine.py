"""Quarantine: payloads redacted, fix and re-ingest through the import parser, retry, discard."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select

from tests.integration.compliance.conftest import ALICE, write_jsonl
from voc.compliance import quarantine as q
from voc.compliance.erasure import erase_customer
from voc.compliance.pseudonym import customer_hash
from voc.models.feedback import Feedback, Quarantine
from voc.models.users import AuditLog


def _entry(session) -> Quarantine:  # noqa: ANN001
    return session.scalars(select(Quarantine).order_by(Quarantine.id)).first()


def test_payload_is_redacted_and_customer_hashed(session, ingested):  # noqa: ANN001
    entry = _entry(session)
    payload = json.loads(entry.raw_payload)
    assert "alice@example.com" not in entry.raw_payload and "[EMAIL]" in payload["text"]
    assert ALICE not in entry.raw_payload and payload["customer_id"].startswith("hash:")
    assert "csat" in entry.reason


def test_fix_and_reingest_stores_feedback(session, settings, ingested):  # noqa: ANN001
    entry = _entry(session)
    payload = json.loads(entry.raw_payload)
    payload["csat"] = 4
    result = q.fix_and_reingest(session, settings, entry.id, json.dumps(payload), actor="admin")
    session.commit()
    assert result.ok and result.status == "fixed", result.message
    fb = session.scalars(select(Feedback).where(Feedback.external_id == "t6")).one()
    assert fb.csat == 4
    # The hash was kept, not hashed again: erasure of the customer still finds the item.
    assert fb.customer_hash == customer_hash(ALICE, settings)
    assert session.get(Quarantine, entry.id).status == "fixed"
    assert session.scalar(select(AuditLog.action).where(AuditLog.action == "quarantine.fix"))
    # Fixing twice is refused: the row is no longer open.
    again = q.fix_and_reingest(session, settings, entry.id, json.dumps(payload), actor="admin")
    assert not again.ok and "fixed" in again.message


def test_fix_that_still_breaks_a_rule_leaves_the_row_open(session, settings, ingested):  # noqa: ANN001
    entry = _entry(session)
    bad = q.fix_and_reingest(session, settings, entry.id, entry.raw_payload, actor="admin")
    assert not bad.ok and bad.status == "open" and "csat" in bad.message
    broken = q.fix_and_reingest(session, settings, entry.id, "{not json", actor="admin")
    assert not broken.ok and "not valid JSON" in broken.message
    listed = q.fix_and_reingest(session, settings, entry.id, "[1, 2]", actor="admin")
    assert not listed.ok and "object" in listed.message
    assert session.get(Quarantine, entry.id).status == "open"
    assert session.scalar(select(func.count()).select_from(Feedback)
                          .where(Feedback.external_id == "t6")) == 0


def test_fix_of_an_erased_customer_is_not_stored(session, settings, ingested, tmp_path,  # noqa: ANN001
                                                 session_factory):
    from voc.ingest.service import ingest_source

    entry = _entry(session)
    payload = json.loads(entry.raw_payload)
    erase_customer(session, settings, ALICE, actor="dpo")
    session.commit()
    # A new broken row of hers arrives (ingest quarantines before checking tombstones).
    path = write_jsonl(tmp_path / "late.jsonl", [{**payload, "id": "t9", "csat": 9,
                                                   "customer_id": ALICE}])
    ingest_source(session_factory, "tickets", settings, path=path)
    late = _entry(session)
    fixed = {**json.loads(late.raw_payload), "csat": 3}
    result = q.fix_and_reingest(session, settings, late.id, json.dumps(fixed), actor="admin")
    assert not result.ok and result.status == "discarded" and "erased" in result.message
    assert session.scalar(select(func.count()).select_from(Feedback)
                          .where(Feedback.external_id == "t9")) == 0


def test_retry_after_mapping_fix_and_discard(session, settings, ingested, tmp_path,  # noqa: ANN001
                                             session_factory, make_source):
    from voc.ingest.service import ingest_source
    from voc.models.feedback import Source

    # A source whose export names the text column "body": rows are quarantined ...
    path = write_jsonl(tmp_path / "body.jsonl", [
        {"id": "b1", "body": "first", "created_at": "2026-11-02T10:00:00"},
        {"id": "b2", "body": "second", "created_at": "2026-11-02T10:00:00"}])
    sid = make_source("bodies", path)
    res = ingest_source(session_factory, "bodies", settings, path=path)
    assert res.quarantined == 2
    ids = sorted(session.scalars(select(Quarantine.id).where(Quarantine.source_id == sid)))
    # ... until the admin maps body -> text, then retries one and discards the other.
    session.get(Source, sid).settings = {"path": str(path), "mapping": {"body": "text"}}
    session.commit()
    results = q.retry(session, settings, [ids[0], 99999], actor="admin")
    assert [(r.quarantine_id, r.ok) for r in results] == [(ids[0], True), (99999, False)]
    assert q.discard(session, [ids[1]], actor="admin") == 1
    assert q.discard(session, [ids[1]], actor="admin") == 0  # only open rows
    session.commit()
    gone = session.get(Quarantine, ids[1])
    assert gone.status == "discarded" and gone.raw_payload == ""
    assert session.scalar(select(Feedback.text).where(Feedback.external_id == "b1")) == "first"
    assert q.counts_by_status(session) == {"open": 1, "fixed": 1, "discarded": 1}
    assert [e.id for e in q.list_entries(session, status="open")] == [_entry(session).id]


def test_cli_list_fix_discard(fresh_db_url, tmp_path, settings):  # noqa: ANN001
    from voc.cli import main
    from voc.db import make_engine, session_factory, session_scope
    from voc.ingest.service import ingest_source
    from voc.models.feedback import Source

    engine = make_engine(fresh_db_url)
    factory = session_factory(engine)
    s = settings.replace(database_url=fresh_db_url)
    try:
        path = write_jsonl(tmp_path / "x.jsonl", [
            {"id": "x1", "text": "t", "created_at": "nope", "customer_id": "c1"},
            {"id": "x2", "text": "t", "created_at": "never"}])
        with session_scope(factory) as ses:
            ses.add(Source(name="x", type="file", kind="ticket", settings={}, cursor={}))
        ingest_source(factory, "x", s, path=path)
        runner = CliRunner()
        args = ["--database-url", fresh_db_url, "quarantine"]
        res = runner.invoke(main, [*args, "list"])
        assert res.exit_code == 0 and "open: 2" in res.output and "c1" not in res.output
        with session_scope(factory) as ses:
            first, second = sorted(ses.scalars(select(Quarantine.id)))
            payload = json.loads(ses.get(Quarantine, first).raw_payload)
        fix = tmp_path / "fix.json"
        fix.write_text(json.dumps({**payload, "created_at": "2026-11-02"}), encoding="utf-8")
        res = runner.invoke(main, [*args, "fix", str(first), str(fix)])
        assert res.exit_code == 0 and "ok" in res.output, res.output
        res = runner.invoke(main, [*args, "retry", str(second)])
        assert res.exit_code == 1 and "could not be re-ingested" in res.output
        res = runner.invoke(main, [*args, "discard", str(second)])
        assert res.exit_code == 0 and "discarded 1 of 1" in res.output
    finally:
        engine.dispose()
