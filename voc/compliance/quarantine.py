"""Quarantine handling: list, fix and re-ingest, retry, discard.

A quarantined row keeps its (redacted) raw payload and the reason it was
rejected. An admin can

- **fix** it: edit the payload JSON; it goes through the same record parser as
  the import (``voc.ingest.records.RecordBuilder`` with the source's mapping)
  and the same upsert (``voc.ingest.upsert.upsert_batch``: redaction,
  tombstones), and the row's status becomes ``fixed``;
- **retry** rows unchanged (after the source mapping or the parser was fixed);
- **discard** rows: status ``discarded`` and the payload is dropped at once
  (nothing left to re-ingest, so nothing personal is kept).

Payloads carry the customer id as ``"hash:<hex>"`` (ingest hashes it before
quarantining); a re-ingested payload keeps that hash instead of hashing the
hash again. Expiry is done by the retention purge (``quarantine_retention_days``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voc import audit
from voc.config import Settings
from voc.models.feedback import Quarantine, Source
from voc.nlp.redact import redact, redact_nested

STATUSES = ("open", "fixed", "discarded")
HASH_PREFIX = "hash:"
DISCARDED_PAYLOAD = ""


class QuarantineError(ValueError):
    """A fix cannot be applied; the message says why (shown to the admin)."""


@dataclass
class FixResult:
    """Outcome for one quarantined row."""

    quarantine_id: int
    ok: bool
    status: str  # the row's status afterwards
    message: str  # why it failed, or what happened


def list_entries(session: Session, *, status: str | None = "open", source: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[Quarantine]:
    """Quarantined rows, newest first, filtered by status and source name."""
    stmt = select(Quarantine).order_by(Quarantine.id.desc()).limit(limit).offset(offset)
    if status:
        stmt = stmt.where(Quarantine.status == status)
    if source:
        stmt = stmt.where(Quarantine.source_name == source)
    return list(session.scalars(stmt))


def counts_by_status(session: Session) -> dict[str, int]:
    """How many rows per status (all statuses present, zero when none)."""
    out = dict.fromkeys(STATUSES, 0)
    rows = session.execute(select(Quarantine.status, func.count()).group_by(Quarantine.status))
    out.update({status: n for status, n in rows})
    return out


def discard(session: Session, ids: Sequence[int], actor: str) -> int:
    """Mark open rows discarded and drop their payloads; returns how many changed."""
    if not ids:
        return 0
    result = session.execute(
        update(Quarantine).where(Quarantine.id.in_(list(ids)), Quarantine.status == "open")
        .values(status="discarded", raw_payload=DISCARDED_PAYLOAD)
        .execution_options(synchronize_session=False))
    n = result.rowcount or 0
    if n:
        audit.record(session, actor, "quarantine.discard", "quarantine",
                     ids[0] if len(ids) == 1 else None, rows=n)
    return n


def fix_and_reingest(session: Session, settings: Settings, quarantine_id: int,
                     payload_text: str, actor: str) -> FixResult:
    """Validate an edited payload as the import would and store it as feedback.

    Does not commit. A payload that still breaks a rule leaves the row open and
    the result says why.
    """
    entry = session.get(Quarantine, quarantine_id)
    if entry is None:
        raise QuarantineError(f"quarantine row {quarantine_id} does not exist")
    try:
        payload = json.loads(payload_text)
    except json.JSONDecodeError as exc:
        return FixResult(quarantine_id, False, entry.status, f"not valid JSON: {exc.msg} "
                         f"(line {exc.lineno}, column {exc.colno})")
    if not isinstance(payload, dict):
        return FixResult(quarantine_id, False, entry.status, "the payload must be a JSON object")
    return _reingest(session, settings, [(entry, payload)], actor, "quarantine.fix")[0]


def retry(session: Session, settings: Settings, ids: Sequence[int], actor: str) -> list[FixResult]:
    """Re-ingest open rows with their stored payloads (after a mapping/parser fix)."""
    entries = list(session.scalars(select(Quarantine).where(Quarantine.id.in_(list(ids)))))
    found = {e.id for e in entries}
    results = [FixResult(i, False, "missing", "no such quarantine row")
               for i in ids if i not in found]
    todo = []
    for entry in entries:
        try:
            payload = json.loads(entry.raw_payload) if entry.raw_payload else None
        except json.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            results.append(FixResult(entry.id, False, entry.status,
                                     "stored payload is not a JSON object: fix it by hand"))
        else:
            todo.append((entry, payload))
    results += _reingest(session, settings, todo, actor, "quarantine.retry")
    return sorted(results, key=lambda r: r.quarantine_id)


def _reingest(session: Session, settings: Settings, items: list[tuple[Quarantine, dict]],
              actor: str, action: str) -> list[FixResult]:
    """Parse and upsert payloads grouped by source (one upsert per source)."""
    from voc.ingest.records import RecordBuilder, content_hash
    from voc.ingest.upsert import upsert_batch

    results: list[FixResult] = []
    by_source: dict[int | None, list[tuple[Quarantine, dict]]] = {}
    for entry, payload in items:
        if entry.status != "open":
            results.append(FixResult(entry.id, False, entry.status,
                                     f"row is {entry.status}, not open"))
            continue
        by_source.setdefault(entry.source_id, []).append((entry, payload))
    for source_id, group in by_source.items():
        source = session.get(Source, source_id) if source_id is not None else None
        if source is None:
            results += [FixResult(e.id, False, e.status, "its source no longer exists")
                        for e, _ in group]
            continue
        mapping = dict((source.settings or {}).get("mapping") or {})
        builder = RecordBuilder(settings, default_kind=source.kind, mapping=mapping)
        records, accepted = [], []
        for entry, payload in group:
            payload, digest = _take_hashed_customer(payload, mapping)
            built = builder.build(payload, f"quarantine:{entry.id}")
            if not hasattr(built, "content_hash"):  # Rejected
                results.append(FixResult(entry.id, False, entry.status, built.reason))
                continue
            if digest is not None:
                built.customer_hash = digest
                built.content_hash = content_hash(built)
            records.append(built)
            accepted.append((entry, payload))
        if not records:
            continue
        counts = upsert_batch(session, source.id, source.name, records, [], settings)
        erased = _erased_ids(session, source.id, records) if counts.skipped_erased else set()
        for (entry, payload), rec in zip(accepted, records, strict=True):
            if rec.external_id in erased:
                entry.status, entry.raw_payload = "discarded", DISCARDED_PAYLOAD
                results.append(FixResult(entry.id, False, "discarded",
                                         "the item or its customer was erased: not stored"))
                continue
            entry.status = "fixed"
            entry.external_id = rec.external_id
            entry.raw_payload = redact(json.dumps(payload, ensure_ascii=False, default=str))
            results.append(FixResult(entry.id, True, "fixed",
                                     f"stored as {source.name}/{rec.external_id}"))
        group_ids = {e.id for e, _ in group}
        audit.record(session, actor, action, "source", source.id, rows=len(group),
                     fixed=sum(1 for r in results if r.ok and r.quarantine_id in group_ids))
    session.flush()
    return sorted(results, key=lambda r: r.quarantine_id)


def _take_hashed_customer(payload: Mapping[str, Any],
                          mapping: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """Remove an already hashed customer id from the payload; return it separately."""
    out = dict(payload)
    keys = {k for k, target in mapping.items() if target == "customer_id"} | {"customer_id"}
    digest = None
    for key in keys:
        value = out.get(key)
        if isinstance(value, str) and value.startswith(HASH_PREFIX):
            digest = value[len(HASH_PREFIX):] or None
            del out[key]
    return out, digest


def _erased_ids(session: Session, source_id: int, records: Sequence[Any]) -> set[str]:
    from voc.compliance.tombstones import erased_filter

    ids, hashes = erased_filter(session, source_id, [r.external_id for r in records],
                                {r.customer_hash for r in records if r.customer_hash})
    return ids | {r.external_id for r in records if r.customer_hash in hashes}


def reredact_payloads(session: Session, ids: Sequence[int]) -> int:
    """Redact the string values of these rows' payloads again; returns rows changed.

    Ingest redacts payloads before quarantining them; running the current redactor
    again (the purge does, batch by batch) covers rows stored before the redactor
    learned a new kind of personal data. Idempotent: unchanged payloads are not written.
    """
    rows = session.execute(select(Quarantine.id, Quarantine.raw_payload).where(
        Quarantine.id.in_(list(ids)), Quarantine.raw_payload != DISCARDED_PAYLOAD)).all()
    changed = []
    for qid, text in rows:
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            new_text = redact(text or "")  # not JSON (e.g. an unparsable line): plain text
        else:
            new_text = json.dumps(redact_nested([payload])[0], ensure_ascii=False)
            if json.loads(new_text) == payload:
                continue
        if new_text != text:
            changed.append({"qid": qid, "payload": new_text})
    for row in changed:  # few rows change: the common case writes nothing
        session.execute(update(Quarantine).where(Quarantine.id == row["qid"])
                        .values(raw_payload=row["payload"])
                        .execution_options(synchronize_session=False))
    return len(changed)
