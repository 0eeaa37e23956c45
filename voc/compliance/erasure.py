"""Right to erasure: remove everything voc holds about one customer.

``erase_customer`` finds the customer's feedback by the keyed hash of the id
(never by the raw id, which voc does not store) and, in the caller's
transaction:

1. deletes the rows of every table that references those feedback items
   (embeddings, sentence sentiment, topic moves... whatever areas add: found
   from the model metadata, so a new table with a foreign key to ``feedback`` is
   covered without touching this module) and then the items themselves;
2. deletes quarantined rows of the customer (ingest stores the customer id in
   quarantine payloads as ``"hash:<hex>"``, matched here) and quarantined
   versions of the same items (same source and external id);
3. scrubs alert-message copies quoting the items (``voc.alerts.store``);
4. rebuilds the weekly rollups of the weeks the items fell in, recomputes the
   stored rankings of those weeks (their examples name items) and refreshes the
   sizes of the topics they belonged to;
5. writes tombstones (one per source item, one for the customer hash) so that
   the next ingest of the same data does not bring anything back;
6. records an ``erase`` audit entry with counts only.

Nothing here logs or returns the raw customer id or any text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

import voc.models  # noqa: F401 - registers every area's tables on the metadata
from voc import audit
from voc.compliance import hooks
from voc.compliance.pseudonym import customer_hashes
from voc.compliance.tombstones import add_tombstones
from voc.config import Settings
from voc.db import session_scope
from voc.models.base import Base
from voc.models.compliance import Tombstone
from voc.models.feedback import Feedback, Quarantine

log = logging.getLogger(__name__)

#: IN-list size per statement (well below SQLite's and psycopg2's limits).
CHUNK = 500


class ErasureError(ValueError):
    """The request cannot be carried out (e.g. an empty customer id)."""


@dataclass
class ErasureReport:
    """What an erasure removed (counts only: no personal data)."""

    dry_run: bool
    feedback: int = 0
    related: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    quarantine: int = 0
    alert_messages: int | None = 0  # None: alerts area not available
    tombstones: int = 0
    weeks_rebuilt: list[str] = field(default_factory=list)
    rollups_rebuilt: bool = True
    weeks_reranked: int = 0  # stored rankings recomputed (their examples named erased items)
    topics_resized: int = 0
    skipped: list[str] = field(default_factory=list)  # hooks whose area is missing
    tombstone_id: int | None = None  # the customer tombstone: links the audit entry
    duration_s: float = 0.0

    @property
    def found(self) -> bool:
        """True when anything of the customer was held."""
        return bool(self.feedback or self.quarantine)

    def counts(self) -> dict[str, Any]:
        """Flat counts for printing, JSON and the audit log."""
        out = asdict(self)
        out.pop("related")
        out.update({f"deleted.{t}": n for t, n in sorted(self.related.items())})
        return out

    def lines(self) -> list[str]:
        """Human-readable summary, one line per table."""
        verb = "would remove" if self.dry_run else "removed"
        rows = [f"feedback: {verb} {self.feedback}"]
        rows += [f"{table}: {verb} {n}" for table, n in sorted(self.related.items())]
        rows.append(f"quarantine: {verb} {self.quarantine}")
        alerts = "n/a (alerts not installed)" if self.alert_messages is None \
            else str(self.alert_messages)
        rows.append(f"alert messages scrubbed: {alerts}")
        would = "to write" if self.dry_run else "written"
        rows.append(f"tombstones {would}: {self.tombstones}")
        rows.append(f"weeks {'to rebuild' if self.dry_run else 'rebuilt'}: "
                    f"{len(self.weeks_rebuilt)}"
                    + ("" if self.rollups_rebuilt else " (insights not installed: skipped)"))
        if not self.dry_run:
            rows.append(f"rankings refreshed: {self.weeks_reranked} week(s)")
            rows.append(f"topics resized: {self.topics_resized}")
        return rows


def erase_customer(session: Session, settings: Settings, customer_id: str, actor: str,
                   *, dry_run: bool = False) -> ErasureReport:
    """Erase all data of ``customer_id`` (see the module docstring); does not commit.

    With ``dry_run`` nothing is changed and the report says what would be removed.
    """
    digests = customer_hashes(customer_id, settings)
    if not digests:
        raise ErasureError("customer id is empty")
    return erase_by_hash(session, settings, digests, actor, dry_run=dry_run)


def erase_by_hash(session: Session, settings: Settings, digests: str | Sequence[str], actor: str,
                  *, dry_run: bool = False) -> ErasureReport:
    """Like :func:`erase_customer` for already hashed customer ids (current key first)."""
    t0 = time.perf_counter()
    digests = [digests] if isinstance(digests, str) else list(digests)
    report = ErasureReport(dry_run=dry_run)
    items = session.execute(
        select(Feedback.id, Feedback.source_id, Feedback.external_id, Feedback.created_at,
               Feedback.topic_id).where(Feedback.customer_hash.in_(digests))
    ).all()
    ids = [r.id for r in items]
    source_items = sorted({(r.source_id, r.external_id) for r in items})
    weeks = sorted({hooks.iso_week(r.created_at, settings) for r in items})
    topic_ids = {r.topic_id for r in items if r.topic_id is not None}
    report.feedback = len(ids)
    report.weeks_rebuilt = weeks

    quarantine_ids = _quarantine_ids(session, digests, source_items)
    report.quarantine = len(quarantine_ids)
    # Items that only ever reached quarantine are tombstoned too: fixed later, they stay out.
    source_items = sorted(set(source_items) | _quarantine_items(session, quarantine_ids))

    for table, column in _referencing_tables():
        n = _count_in(session, table, column, ids)
        if n:
            report.related[table.name] = n
    if dry_run:
        report.tombstones = len(source_items) + len(digests)
        report.duration_s = round(time.perf_counter() - t0, 3)
        return report

    scrubbed = hooks.scrub_alerts(session, ids)
    report.alert_messages = scrubbed
    if scrubbed is None:
        report.skipped.append("alerts")
    for table, column in _referencing_tables():
        for chunk in _chunks(ids):
            session.execute(delete(table).where(column.in_(chunk)))
    for chunk in _chunks(ids):
        session.execute(delete(Feedback).where(Feedback.id.in_(chunk))
                        .execution_options(synchronize_session=False))
    for chunk in _chunks(quarantine_ids):
        session.execute(delete(Quarantine).where(Quarantine.id.in_(chunk))
                        .execution_options(synchronize_session=False))
    report.tombstones, report.tombstone_id = add_tombstones(session, source_items, digests[0])
    for old_digest in digests[1:]:  # hashes under retired keys: keep those items out too
        report.tombstones += add_tombstones(session, [], old_digest)[0]
    session.flush()
    rebuilt = hooks.rebuild_rollups(session, settings, weeks)
    if rebuilt is None:
        report.rollups_rebuilt = False
        report.skipped.append("rollups")
    else:
        reranked = hooks.rerank(session, settings, weeks)
        if reranked is None:
            report.skipped.append("rankings")
        report.weeks_reranked = reranked or 0
    report.topics_resized = hooks.refresh_topic_sizes(session, topic_ids)
    report.duration_s = round(time.perf_counter() - t0, 3)
    audit.record(session, actor, "erase", "tombstone", report.tombstone_id,
                 feedback=report.feedback, quarantine=report.quarantine,
                 related=dict(report.related), alert_messages=report.alert_messages,
                 weeks=len(weeks), skipped=list(report.skipped))
    session.flush()
    log.info("erasure by %s: %d feedback, %d quarantine, %s related, %d weeks rebuilt in %.2fs",
             actor, report.feedback, report.quarantine, report.related, len(weeks),
             report.duration_s)
    return report


def sweep_leftovers(session_factory: sessionmaker[Session], settings: Settings, *,
                    actor: str = "purge", dry_run: bool = False) -> int:
    """Erase items that arrived for an already erased customer; returns items removed.

    Ingest checks tombstones per batch, so a batch that read them just before a
    concurrent erasure committed can still store an item of that customer. The
    purge step calls this to close that window: every stored hash that has a
    customer tombstone is erased again (one short transaction per customer).
    """
    with session_scope(session_factory) as s:
        digests = list(s.scalars(
            select(Feedback.customer_hash).distinct()
            .join(Tombstone, Tombstone.customer_hash == Feedback.customer_hash)
            .where(Tombstone.source_id.is_(None))))
    removed = 0
    for digest in digests:
        with session_scope(session_factory) as s:
            report = erase_by_hash(s, settings, digest, actor, dry_run=dry_run)
            removed += report.feedback
            if dry_run:
                s.rollback()
    if removed:
        log.warning("purge: erased %d item(s) that arrived after their customer's erasure",
                    removed)
    return removed


def _referencing_tables() -> list[tuple[Table, Any]]:
    """(table, column) for every table with a foreign key to ``feedback.id``."""
    out = []
    feedback = Feedback.__table__
    for table in Base.metadata.sorted_tables:
        if table is feedback:
            continue
        for fk in table.foreign_keys:
            if fk.column.table is feedback and fk.column.name == "id":
                out.append((table, fk.parent))
    return out


def _quarantine_ids(session: Session, digests: Sequence[str],
                    source_items: Sequence[tuple[int, str]]) -> list[int]:
    """Quarantined rows of the customer (by hashed id in the payload) or of their items."""
    found: set[int] = set()
    for digest in digests:
        # Bound parameter: the digest is hex, but never build SQL from data anyway.
        found.update(session.scalars(select(Quarantine.id).where(
            Quarantine.raw_payload.contains(f"hash:{digest}", autoescape=True))))
    by_source: dict[int, list[str]] = {}
    for source_id, ext_id in source_items:
        by_source.setdefault(source_id, []).append(ext_id)
    for source_id, ext_ids in by_source.items():
        for chunk in _chunks(ext_ids):
            found.update(session.scalars(select(Quarantine.id).where(
                Quarantine.source_id == source_id, Quarantine.external_id.in_(chunk))))
    return sorted(found)


def _quarantine_items(session: Session, ids: Sequence[int]) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    for chunk in _chunks(ids):
        rows = session.execute(select(Quarantine.source_id, Quarantine.external_id).where(
            Quarantine.id.in_(chunk), Quarantine.source_id.isnot(None),
            Quarantine.external_id.isnot(None)))
        out.update((r[0], r[1]) for r in rows)
    return out


def _count_in(session: Session, table: Table, column: Any, ids: Sequence[int]) -> int:
    total = 0
    for chunk in _chunks(ids):
        total += session.scalar(select(func.count()).select_from(table)
                                .where(column.in_(chunk))) or 0
    return total


def _chunks(values: Sequence[Any], size: int = CHUNK):  # noqa: ANN202 - generator
    for i in range(0, len(values), size):
        yield list(values[i:i + size])


__all__ = ["ErasureError", "ErasureReport", "erase_by_hash", "erase_customer", "sweep_leftovers"]
