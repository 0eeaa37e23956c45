"""Audit log: append-only in the database, filters, CSV export (itself audited)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from voc import audit
from voc.compliance.audit_export import AuditFilter, iter_csv, query_entries
from voc.models.users import AuditLog


def test_update_and_delete_are_refused_by_the_database(session):  # noqa: ANN001
    entry = audit.record(session, "ana", "topic.rename", "topic", 1, label="x")
    session.flush()
    for stmt in (update(AuditLog).values(actor="mallory"), delete(AuditLog),
                 text("UPDATE audit_log SET details = NULL"), text("DELETE FROM audit_log")):
        nested = session.begin_nested()
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(stmt)
        nested.rollback()
    session.expire_all()
    assert session.get(AuditLog, entry.id).actor == "ana"


def _seed(session) -> None:  # noqa: ANN001
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for i, (actor, action) in enumerate([("ana", "topic.rename"), ("ana", "topic.merge"),
                                         ("bo", "export.csv"), ("admin", "user.create"),
                                         ("bo", "=HYPERLINK(\"http://x\")")]):
        session.add(AuditLog(at=base + timedelta(days=i), actor=actor, action=action,
                             details={"n": i}))
    session.flush()


def test_filters(session):  # noqa: ANN001
    _seed(session)
    since = datetime(2026, 11, 2, tzinfo=UTC)
    assert [e.action for e in query_entries(session, AuditFilter(action="topic."))] == \
        ["topic.merge", "topic.rename"]
    assert [e.actor for e in query_entries(session, AuditFilter(since=since, actor="bo"))] == \
        ["bo", "bo"]
    got = query_entries(session, AuditFilter(since=since, until=since + timedelta(days=2)))
    assert [e.action for e in got] == ["export.csv", "topic.merge"]
    # LIKE wildcards in the filter are literal, not patterns.
    assert query_entries(session, AuditFilter(action="%")) == []


def test_csv_export_is_complete_and_safe_for_spreadsheets(session):  # noqa: ANN001
    _seed(session)
    body = "".join(iter_csv(session, AuditFilter(), batch=2))
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["id", "at", "actor", "action", "target_type", "target_id", "details"]
    assert len(rows) == 6
    assert rows[5][3].startswith("'=")  # formula neutralised
    assert rows[1][6] == '{"n": 0}'


def test_cli_export_writes_csv_and_is_audited(fresh_db_url, tmp_path):  # noqa: ANN001
    from voc.cli import main
    from voc.db import make_engine, session_factory, session_scope

    engine = make_engine(fresh_db_url)
    try:
        with session_scope(session_factory(engine)) as s:
            audit.record(s, "ana", "topic.rename", "topic", 3)
        out = tmp_path / "audit.csv"
        res = CliRunner().invoke(main, ["--database-url", fresh_db_url, "audit", "export",
                                        "--since", "2000-01-01", "-o", str(out)])
        assert res.exit_code == 0, res.output
        rows = list(csv.reader(out.open(encoding="utf-8")))
        assert [r[3] for r in rows[1:]] == ["topic.rename"]
        res = CliRunner().invoke(main, ["--database-url", fresh_db_url, "audit", "export",
                                        "--action", "audit."])
        assert res.exit_code == 0 and "audit.export" in res.output
        with session_scope(session_factory(engine)) as s:
            actions = list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))
        assert actions == ["topic.rename", "audit.export", "audit.export"]
        bad = CliRunner().invoke(main, ["--database-url", fresh_db_url, "audit", "export",
                                        "--since", "yesterday"])
        assert bad.exit_code == 1 and "expected a date" in bad.output
    finally:
        engine.dispose()
