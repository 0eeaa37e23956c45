"""Batch upsert of canonical records and quarantined rows (no per-row round trips).

Per batch: one tombstone look-up, one ``SELECT`` of the batch's existing
``(external_id, content_hash)``, (only when some changed) one ``SELECT`` of their
stored text, one redaction pass over new/changed texts, one dialect-specific
``INSERT ... ON CONFLICT DO UPDATE`` (built with SQLAlchemy's postgresql/sqlite insert
constructs, compiled once, sent in pages of 1000 rows with psycopg2's execute_values or
as one sqlite3 executemany), and for items whose text changed, three statements that
reset their enrichment. The caller commits the batch together with the source cursor.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, delete, false, func, insert, select, update
from sqlalchemy.orm import Session

from voc.compliance.tombstones import erased_filter
from voc.config import Settings
from voc.ingest.records import Record, Rejected, payload_to_text, to_json
from voc.models.base import utcnow
from voc.models.feedback import Feedback, FeedbackEmbedding, Quarantine
from voc.nlp.redact import redact_many, redact_nested

_FEEDBACK = Feedback.__table__
#: Columns the import owns; enrichment and topic columns are left alone on update.
_INSERT_COLUMNS = (
    "source_id", "external_id", "kind", "channel", "market", "language", "language_detected",
    "csat", "nps", "escalated", "resolved", "sla_breached", "product_area", "tags",
    "customer_hash", "created_at", "text", "text_raw", "content_hash", "attributes",
    "ingested_at", "updated_at", "topic_locked",
)
_DATA_COLUMNS = (
    "kind", "channel", "market", "csat", "nps", "escalated", "resolved", "sla_breached",
    "product_area", "tags", "customer_hash", "created_at", "text", "text_raw", "content_hash",
    "attributes", "updated_at",
)


@dataclass
class BatchCounts:
    """What one batch did."""

    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped_erased: int = 0
    duplicates: int = 0  # same id more than once in one batch: the last one wins
    text_changed: int = 0


def upsert_batch(session: Session, source_id: int, source_name: str, records: Sequence[Record],
                 rejected: Sequence[Rejected], settings: Settings) -> BatchCounts:
    """Write one batch: new items inserted, changed ones updated, bad rows quarantined.

    Items that are tombstoned (erased) are skipped. Does not commit.
    """
    counts = BatchCounts()
    by_id: dict[str, Record] = {}
    for rec in records:
        if rec.external_id in by_id:
            counts.duplicates += 1
        by_id[rec.external_id] = rec
    if by_id:
        hashes = {r.customer_hash for r in by_id.values() if r.customer_hash}
        erased_ids, erased_hashes = erased_filter(session, source_id, list(by_id), hashes)
        if erased_ids or erased_hashes:
            for ext_id in list(by_id):
                rec = by_id[ext_id]
                if ext_id in erased_ids or rec.customer_hash in erased_hashes:
                    del by_id[ext_id]
                    counts.skipped_erased += 1
    if by_id:
        _write_feedback(session, source_id, by_id, settings, counts)
    if rejected:
        _write_quarantine(session, source_id, source_name, rejected)
        counts.quarantined = len(rejected)
    return counts


def _write_feedback(session: Session, source_id: int, by_id: dict[str, Record],
                    settings: Settings, counts: BatchCounts) -> None:
    existing = dict(session.execute(
        select(Feedback.external_id, Feedback.content_hash).where(
            Feedback.source_id == source_id, Feedback.external_id.in_(list(by_id)))
    ).all())
    todo: list[Record] = []
    changed_ids: list[str] = []
    for ext_id, rec in by_id.items():
        old_hash = existing.get(ext_id)
        if old_hash is None:
            todo.append(rec)
        elif old_hash == rec.content_hash:
            counts.unchanged += 1
        else:
            todo.append(rec)
            changed_ids.append(ext_id)
    counts.updated = len(changed_ids)
    counts.stored = len(todo) - len(changed_ids)
    if not todo:
        return
    old_text: dict[str, tuple[int, str]] = {}
    if changed_ids:
        old_text = {ext: (fid, txt) for fid, ext, txt in session.execute(
            select(Feedback.id, Feedback.external_id, Feedback.text).where(
                Feedback.source_id == source_id, Feedback.external_id.in_(changed_ids)))}
    redacted = redact_many([r.text for r in todo])
    upsert = _compiled_upsert(session)
    to_db = upsert.datetime_value
    now = to_db(utcnow())
    keep_raw = settings.keep_raw_text
    rows: list[dict[str, Any]] = []
    text_changed: list[int] = []
    for rec, text in zip(todo, redacted, strict=True):
        prev = old_text.get(rec.external_id)
        if prev is not None and prev[1] != text:
            text_changed.append(prev[0])
        rows.append({
            "source_id": source_id, "external_id": rec.external_id, "kind": rec.kind,
            "channel": rec.channel, "market": rec.market, "language": rec.language,
            "language_detected": False, "csat": rec.csat, "nps": rec.nps,
            "escalated": rec.escalated, "resolved": rec.resolved,
            "sla_breached": rec.sla_breached, "product_area": rec.product_area,
            "tags": to_json(rec.tags) if rec.tags else "[]", "customer_hash": rec.customer_hash,
            "created_at": to_db(rec.created_at), "text": text,
            "text_raw": rec.text if keep_raw else None, "content_hash": rec.content_hash,
            "attributes": rec.attributes_json, "ingested_at": now, "updated_at": now,
            "topic_locked": False,
        })
    upsert.execute(session, rows)
    if text_changed:
        _reset_enrichment(session, text_changed)
    counts.text_changed = len(text_changed)


def _upsert_statement(dialect: str):  # noqa: ANN202 - dialect-specific Insert
    """``INSERT ... ON CONFLICT (source_id, external_id) DO UPDATE`` for ``dialect``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - voc supports these two
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    stmt = dialect_insert(_FEEDBACK)
    exc = stmt.excluded
    set_ = {name: exc[name] for name in _DATA_COLUMNS}
    # An update without a language keeps the one enrichment detected for the same text.
    set_["language"] = func.coalesce(exc.language, _FEEDBACK.c.language)
    set_["language_detected"] = case(
        (exc.language.is_(None), _FEEDBACK.c.language_detected), else_=false())
    return stmt.on_conflict_do_update(index_elements=["source_id", "external_id"], set_=set_)


@dataclass(frozen=True)
class _CompiledUpsert:
    """The upsert construct compiled once per dialect, run at driver level.

    SQLAlchemy's per-row parameter processing (type processors, JSON serialisation)
    cost as much as the database work itself; rows are prepared here instead and
    sent with the driver's fastest bulk path: ``execute_values`` pages on psycopg2
    (multi-row VALUES, one round trip per 1000 rows), ``executemany`` on sqlite3.
    """

    dialect: str
    sql: str
    template: str | None  # psycopg2 execute_values row template
    keys: tuple[str, ...]

    def datetime_value(self, value: datetime) -> Any:
        """A UTC datetime as the column stores it (naive UTC; SQLAlchemy's text on SQLite)."""
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return naive.strftime(_SQLITE_DATETIME) if self.dialect == "sqlite" else naive

    def execute(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Upsert ``rows`` (dicts keyed by column) inside the session's transaction."""
        conn = session.connection()
        if self.dialect == "postgresql":
            self._copy_upsert(conn.connection.dbapi_connection, rows)
        else:
            keys = self.keys
            conn.exec_driver_sql(self.sql, [tuple(row[k] for k in keys) for row in rows])


    def _copy_upsert(self, dbapi_conn: Any, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: COPY the batch into a temporary stage, then one INSERT ... SELECT.

        A multi-row VALUES statement costs the server a parse and plan per 1000 rows and
        psycopg2 a ``mogrify`` per row; COPY streams the rows as CSV instead (measured 3.6x
        faster for the write on 20k rows). The stage lives for the transaction only.
        """
        keys = self.keys
        buf = io.StringIO()
        # QUOTE_NONNUMERIC writes None as "" and strings quoted; FORCE_NULL turns "" back into
        # NULL. No imported column holds a legitimate empty string (blank values are None).
        writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerows(tuple(row[k] for k in keys) for row in rows)
        buf.seek(0)
        cursor = dbapi_conn.cursor()
        try:
            ddl, copy_sql = _stage_statements(keys)
            cursor.execute(ddl)
            cursor.copy_expert(copy_sql, buf)
            cursor.execute(self.sql)
            cursor.execute(_STAGE_TRUNCATE)  # the next batch in this transaction starts empty
        finally:
            cursor.close()


# The stage has feedback's column types and no constraints, indexes or defaults.
_STAGE = "voc_ingest_stage"
_STAGE_TRUNCATE = f"TRUNCATE {_STAGE}"


def _stage_statements(keys: Sequence[str]) -> tuple[str, str]:
    """DDL and COPY for the stage; only column names from the models, never user input."""
    cols = ", ".join(keys)
    ddl = (f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "  # noqa: S608
           f"SELECT {cols} FROM feedback WITH NO DATA")
    return ddl, f"COPY {_STAGE} ({cols}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({cols}))"
_COMPILED: dict[str, _CompiledUpsert] = {}
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME


def _compiled_upsert(session: Session) -> _CompiledUpsert:
    dialect = session.get_bind().dialect
    cached = _COMPILED.get(dialect.name)
    if cached is not None:
        return cached
    compiled = _upsert_statement(dialect.name).compile(dialect=dialect,
                                                      column_keys=list(_INSERT_COLUMNS))
    sql = str(compiled)
    if dialect.name == "postgresql":
        head, rest = sql.split(" VALUES (", 1)
        values, tail = rest.split(") ON CONFLICT ", 1)
        keys = tuple(re.findall(r"%\((\w+)\)s", values))
        # The COPY stage feeds the same upsert: INSERT INTO feedback (...) SELECT ... ON CONFLICT.
        tail = tail.rsplit(" RETURNING ", 1)[0]
        result = _CompiledUpsert(
            "postgresql",
            f"{head} SELECT {', '.join(keys)} FROM {_STAGE} ON CONFLICT {tail}",  # noqa: S608
            None, keys)
    else:
        result = _CompiledUpsert(dialect.name, sql, None, tuple(compiled.positiontup))
    _COMPILED[dialect.name] = result
    return result


def _reset_enrichment(session: Session, feedback_ids: list[int]) -> None:
    """The text changed: sentiment, quote, embedding and (unless locked) topic are stale."""
    fb = _FEEDBACK.c
    session.execute(update(_FEEDBACK).where(fb.id.in_(feedback_ids)).values(
        sentiment_score=None, sentiment_label=None, sentiment_backend=None, pain_quote=None,
        enriched_at=None,
        language=case((fb.language_detected.is_(True), None), else_=fb.language),
        language_detected=False,
    ))
    session.execute(update(_FEEDBACK).where(
        fb.id.in_(feedback_ids), fb.topic_locked.is_(False)).values(
        topic_id=None, topic_score=None, topic_assigned_at=None))
    session.execute(delete(FeedbackEmbedding).where(
        FeedbackEmbedding.feedback_id.in_(feedback_ids)))


def _write_quarantine(session: Session, source_id: int, source_name: str,
                      rejected: Sequence[Rejected]) -> None:
    # Redact every string inside the payloads (nested too) in one pass, then serialise.
    clean = redact_nested([rej.payload for rej in rejected])
    now = utcnow()
    rows = [{
        "source_id": source_id, "source_name": source_name,
        "external_id": rej.external_id, "location": (rej.location or "")[:500],
        "reason": rej.reason, "raw_payload": payload_to_text(payload),
        "status": "open", "created_at": now,
    } for rej, payload in zip(rejected, clean, strict=True)]
    # Re-reading the same file must not pile up copies of the same open quarantine entry.
    seen = set(session.execute(
        select(Quarantine.location, Quarantine.reason, Quarantine.raw_payload).where(
            Quarantine.source_id == source_id, Quarantine.status == "open",
            Quarantine.location.in_({r["location"] for r in rows}))
    ).tuples())
    rows = [r for r in rows if (r["location"], r["reason"], r["raw_payload"]) not in seen]
    if rows:
        session.execute(insert(Quarantine.__table__), rows)
