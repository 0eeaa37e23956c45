"""Batch upsert of canonical records and quarantined rows (no per-row round trips).

Per batch: one tombstone check (the id/customer look-ups run only when some tombstone
could apply), one ``SELECT`` of the batch's existing ``(external_id, content_hash)``, (only
when some changed) one ``SELECT`` of their stored text, one redaction pass over new/changed
texts, then the write, and for items whose text changed, three statements that reset their
enrichment. The caller commits the batch together with the source cursor.

The write: on PostgreSQL the rows stream with ``COPY`` (text format) straight into
``feedback`` when all are new, else into a temporary stage followed by one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE``; on SQLite one ``executemany`` of the same
upsert. The upsert is SQLAlchemy's postgresql/sqlite insert construct, compiled once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg2.errors
from sqlalchemy import case, delete, exists, false, func, insert, select, update
from sqlalchemy.orm import Session

from voc.compliance.tombstones import erased_filter
from voc.config import Settings
from voc.ingest.records import Record, Rejected, payload_to_text, to_json
from voc.models.base import utcnow
from voc.models.compliance import Tombstone
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
    guessed_wrong: bool = False  # ``all_new`` was given but some items were stored already


def upsert_batch(session: Session, source_id: int, source_name: str, records: Sequence[Record],
                 rejected: Sequence[Rejected], settings: Settings, *,
                 all_new: bool = False) -> BatchCounts:
    """Write one batch: new items inserted, changed ones updated, bad rows quarantined.

    Items that are tombstoned (erased) are skipped. Does not commit. ``all_new`` is a
    guess (a bulk load of new items): on PostgreSQL they are then stored without looking
    up the stored ones first; if the guess is wrong, nothing is lost (the batch takes the
    normal path) and ``guessed_wrong`` says so.
    """
    counts = BatchCounts()
    by_id: dict[str, Record] = {}
    for rec in records:
        if rec.external_id in by_id:
            counts.duplicates += 1
        by_id[rec.external_id] = rec
    if by_id and _may_be_erased(session, source_id):
        hashes = {r.customer_hash for r in by_id.values() if r.customer_hash}
        erased_ids, erased_hashes = erased_filter(session, source_id, list(by_id), hashes)
        if erased_ids or erased_hashes:
            for ext_id in list(by_id):
                rec = by_id[ext_id]
                if ext_id in erased_ids or rec.customer_hash in erased_hashes:
                    del by_id[ext_id]
                    counts.skipped_erased += 1
    if by_id:
        _write_feedback(session, source_id, by_id, settings, counts, all_new)
    if rejected:
        _write_quarantine(session, source_id, source_name, rejected)
        counts.quarantined = len(rejected)
    return counts


def _may_be_erased(session: Session, source_id: int) -> bool:
    """Whether any tombstone could match this source's items (item or customer tombstones).

    Two index probes; the per-batch id and customer-hash look-ups run only when true (on a
    fresh install, and for sources nobody asked to erase from, they never do).
    """
    tomb = Tombstone.__table__.c
    return bool(session.scalar(select(
        exists().where(tomb.source_id == source_id)
        | exists().where(tomb.customer_hash.is_not(None)))))


def _existing_hashes(session: Session, source_id: int, ext_ids: list[str]) -> dict[str, str]:
    """``external_id -> content_hash`` of the batch's items already stored (driver level:
    SQLAlchemy's expanding ``IN`` renders one bind parameter per id, per batch)."""
    conn = session.connection()
    found: dict[str, str] = {}
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT external_id, content_hash FROM feedback "
                           "WHERE source_id = %s AND external_id = ANY(%s)", (source_id, ext_ids))
            found.update(cursor.fetchall())
        finally:
            cursor.close()
        return found
    for i in range(0, len(ext_ids), _SQLITE_CHUNK):
        chunk = ext_ids[i:i + _SQLITE_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(conn.exec_driver_sql(
            "SELECT external_id, content_hash FROM feedback "  # noqa: S608 - placeholders only
            f"WHERE source_id = ? AND external_id IN ({marks})", (source_id, *chunk)).all())
    return found


_SQLITE_CHUNK = 5000  # ids per look-up (SQLite allows 32766 bound parameters)


def _write_feedback(session: Session, source_id: int, by_id: dict[str, Record],
                    settings: Settings, counts: BatchCounts, all_new: bool) -> None:
    upsert = _compiled_upsert(session)
    keep_raw = settings.keep_raw_text
    if all_new and upsert.dialect == "postgresql":
        records = list(by_id.values())
        if upsert.insert_new(session, source_id, records, _redacted(records), keep_raw):
            counts.stored = len(records)
            return
        counts.guessed_wrong = True
    existing = _existing_hashes(session, source_id, list(by_id))
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
    redacted = _redacted(todo)
    text_changed = [prev[0] for rec, text in zip(todo, redacted, strict=True)
                    if (prev := old_text.get(rec.external_id)) is not None and prev[1] != text]
    if existing or not upsert.insert_new(session, source_id, todo, redacted, keep_raw):
        upsert.execute(session, source_id, todo, redacted, keep_raw)
    if text_changed:
        _reset_enrichment(session, text_changed)
    counts.text_changed = len(text_changed)


def _redacted(records: Sequence[Record]) -> list[str]:
    """The records' redacted texts: ingestion redacts while reading, off the writing
    thread; for records built elsewhere it happens here, in one batch."""
    fresh = iter(redact_many([r.text for r in records if r.redacted is None]))
    return [next(fresh) if r.redacted is None else r.redacted for r in records]


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
    cost as much as the database work itself; rows are prepared here instead and sent
    with the driver's fastest bulk path: ``COPY`` on psycopg2, ``executemany`` on sqlite3.
    """

    dialect: str
    sql: str  # PostgreSQL: INSERT INTO feedback (...) SELECT ... FROM the stage ON CONFLICT ...
    keys: tuple[str, ...]  # SQLite: the statement's parameter order

    def execute(self, session: Session, source_id: int, records: Sequence[Record],
                texts: Sequence[str], keep_raw: bool) -> None:
        """Upsert ``records`` (with their redacted ``texts``) inside the session's transaction.

        PostgreSQL: ``COPY`` into a temporary stage, then the upsert from the stage.
        """
        conn = session.connection()
        now = utcnow()
        if self.dialect == "postgresql":
            data = _copy_text(source_id, records, texts, keep_raw, now)
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(_STAGE_DDL)
                _copy_in(cursor, _COPY_STAGE, data)
                cursor.execute(self.sql)
                cursor.execute(_STAGE_TRUNCATE)  # the next batch in this transaction starts empty
            finally:
                cursor.close()
            return
        stamp = now.strftime(_SQLITE_DATETIME)
        rows = []
        for rec, text in zip(records, texts, strict=True):
            created = rec.created_at
            if created.tzinfo is not None:
                created = created.astimezone(UTC).replace(tzinfo=None)
            rows.append((  # _INSERT_COLUMNS order, the statement's (checked when compiled)
                source_id, rec.external_id, rec.kind, rec.channel, rec.market, rec.language,
                False, rec.csat, rec.nps, rec.escalated, rec.resolved, rec.sla_breached,
                rec.product_area, to_json(rec.tags) if rec.tags else "[]", rec.customer_hash,
                created.strftime(_SQLITE_DATETIME), text, rec.text if keep_raw else None,
                rec.content_hash, rec.attributes_json, stamp, stamp, False))
        conn.exec_driver_sql(self.sql, rows)

    def insert_new(self, session: Session, source_id: int, records: Sequence[Record],
                   texts: Sequence[str], keep_raw: bool) -> bool:
        """PostgreSQL: ``COPY`` records believed new straight into ``feedback`` (no stage to
        write and read back, no upsert). False, with nothing written, when some were stored
        already (by an earlier run, or another writer meanwhile): the unique constraint
        refuses the COPY, rolled back to a savepoint so the transaction goes on. Always
        False on other dialects.
        """
        if self.dialect != "postgresql":
            return False
        data = _copy_text(source_id, records, texts, keep_raw, utcnow())
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            cursor.execute("SAVEPOINT voc_ingest_new")
            try:
                _copy_in(cursor, _COPY_FEEDBACK, data)
            except psycopg2.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT voc_ingest_new")
                return False
            cursor.execute("RELEASE SAVEPOINT voc_ingest_new")
            return True
        finally:
            cursor.close()


def _copy_in(cursor: Any, sql: str, data: str) -> None:
    """``COPY ... FROM STDIN`` of ``data`` in one piece.

    psycopg2 reads the file in ``size`` chunks and takes the GIL for every read; with the
    default 8 KB, a 1 MB batch needed ~125 hand-overs from the reading thread (up to 5 ms
    each), which left the server idle between chunks. One encoded buffer, one read; the
    statements declare it UTF-8 (``ENCODING 'UTF8'``) whatever the client encoding is.
    """
    payload = data.encode("utf-8")
    cursor.copy_expert(sql, io.BytesIO(payload), size=len(payload) + 1)


# COPY text format: columns split by tabs, \N for NULL; backslash, newline, carriage return
# and tab inside values are escaped. The columns that change per row come first.
_COPY_COLUMNS = (
    "external_id", "kind", "channel", "market", "language", "csat", "nps", "escalated",
    "resolved", "sla_breached", "product_area", "tags", "customer_hash", "created_at", "text",
    "text_raw", "content_hash", "attributes",
    "source_id", "language_detected", "ingested_at", "updated_at", "topic_locked",
)
_NULL = "\\N"
_BOOL = {None: _NULL, True: "t", False: "f"}


def _escape(value: str) -> str:
    """A value for COPY's text format (memchr checks first: most values need nothing)."""
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
                .replace("\t", "\\t"))
    return value


def prepare_rows(dialect: str, records: Sequence[Record], keep_raw: bool) -> None:
    """Set ``rec.prepared`` (PostgreSQL: the COPY text of its per-row columns) on records
    whose ``redacted`` text is set, so a reading thread can do it while the writer writes.
    Nothing to prepare on other dialects."""
    if dialect != "postgresql":
        return
    for rec in records:
        if rec.redacted is not None:
            rec.prepared = _copy_row(rec, rec.redacted, keep_raw)


def _copy_row(rec: Record, text: str, keep_raw: bool) -> str:
    """A record's per-row columns (``_COPY_COLUMNS`` up to ``attributes``) as COPY text.

    Empty strings in nullable columns are sent as NULL (as the CSV stage always did).
    ``created_at`` goes as ISO 8601 with its +00:00 offset, which a ``timestamp`` column
    reads as the same (naive UTC) wall time. Only columns that can hold free text are
    escaped (kind, market and language are validated codes; the rest numbers and hashes).
    """
    esc, null, bools = _escape, _NULL, _BOOL
    created = rec.created_at
    if created.tzinfo is not UTC:
        created = created.replace(tzinfo=UTC) if created.tzinfo is None else \
            created.astimezone(UTC)
    csat, nps = rec.csat, rec.nps
    return "\t".join((
        esc(rec.external_id), rec.kind,
        esc(rec.channel) if rec.channel else null,
        rec.market or null, rec.language or null,
        null if csat is None else str(csat), null if nps is None else str(nps),
        bools[rec.escalated], bools[rec.resolved], bools[rec.sla_breached],
        esc(rec.product_area) if rec.product_area else null,
        esc(to_json(rec.tags)) if rec.tags else "[]",
        esc(rec.customer_hash) if rec.customer_hash else null, created.isoformat(), esc(text),
        esc(rec.text) if keep_raw else null, rec.content_hash, esc(rec.attributes_json)))


def _copy_text(source_id: int, records: Sequence[Record], texts: Sequence[str], keep_raw: bool,
               now: datetime) -> str:
    """The batch as COPY text-format lines in ``_COPY_COLUMNS`` order."""
    # The per-batch columns close every line: one join with them as the separator.
    end = f"\t{source_id}\tf\t{now.isoformat()}\t{now.isoformat()}\tf\n"
    rows = [rec.prepared if rec.prepared is not None and rec.redacted == text
            else _copy_row(rec, text, keep_raw) for rec, text in zip(records, texts, strict=True)]
    return end.join(rows) + end if rows else ""


# The stage has feedback's column types and no constraints, indexes or defaults; it lives
# for the transaction only. Column names come from the model, never from user input.
_STAGE = "voc_ingest_stage"
_STAGE_TRUNCATE = f"TRUNCATE {_STAGE}"
_COLUMN_LIST = ", ".join(_COPY_COLUMNS)
_STAGE_DDL = (f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "  # noqa: S608
              f"SELECT {_COLUMN_LIST} FROM feedback WITH NO DATA")
_COPY_STAGE = f"COPY {_STAGE} ({_COLUMN_LIST}) FROM STDIN WITH (ENCODING 'UTF8')"
_COPY_FEEDBACK = f"COPY feedback ({_COLUMN_LIST}) FROM STDIN WITH (ENCODING 'UTF8')"
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
        if set(keys) != set(_COPY_COLUMNS):  # pragma: no cover - the COPY feeds these
            raise RuntimeError(f"upsert columns {keys} differ from the COPY's")
        # The COPY stage feeds the same upsert: INSERT INTO feedback (...) SELECT ... ON CONFLICT.
        tail = tail.rsplit(" RETURNING ", 1)[0]
        result = _CompiledUpsert(
            "postgresql",
            f"{head} SELECT {', '.join(keys)} FROM {_STAGE} ON CONFLICT {tail}",  # noqa: S608
            keys)
    else:
        keys = tuple(compiled.positiontup)
        if keys != _INSERT_COLUMNS:  # pragma: no cover - rows are built in this order
            raise RuntimeError(f"unexpected upsert parameter order {keys}")
        result = _CompiledUpsert(dialect.name, sql, keys)
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
