"""Look-ups that keep erased data from coming back through ingestion."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from voc.models.base import utcnow
from voc.models.compliance import Tombstone


def erased_filter(session: Session, source_id: int, external_ids: Collection[str],
                  customer_hashes: Collection[str]) -> tuple[set[str], set[str]]:
    """Which of a batch's external ids and customer hashes are tombstoned.

    One query per kind for the whole batch (never per row). Returns
    ``(erased_external_ids, erased_customer_hashes)``.
    """
    ids: set[str] = set()
    hashes: set[str] = set()
    if external_ids:
        ids = set(session.scalars(
            select(Tombstone.external_id).where(
                Tombstone.source_id == source_id,
                Tombstone.external_id.in_(list(external_ids)),
            )
        ))
    if customer_hashes:
        hashes = set(session.scalars(
            select(Tombstone.customer_hash).where(
                Tombstone.customer_hash.in_(list(customer_hashes))
            )
        ))
    return ids, hashes


def add_tombstones(session: Session, source_items: Collection[tuple[int, str]],
                   digest: str | None, reason: str = "erasure") -> tuple[int, int | None]:
    """Tombstone source items and (optionally) a customer hash; existing ones are kept.

    Returns ``(rows written, id of the customer tombstone)``. One look-up per
    kind and one bulk insert, never a query per row.
    """
    items = sorted(set(source_items))
    existing: set[tuple[int, str]] = set()
    by_source: dict[int, list[str]] = {}
    for source_id, ext_id in items:
        by_source.setdefault(source_id, []).append(ext_id)
    for source_id, ext_ids in by_source.items():
        for i in range(0, len(ext_ids), 500):
            rows = session.execute(select(Tombstone.source_id, Tombstone.external_id).where(
                Tombstone.source_id == source_id, Tombstone.external_id.in_(ext_ids[i:i + 500])))
            existing.update((r[0], r[1]) for r in rows)
    now = utcnow()
    rows = [{"source_id": s, "external_id": e, "customer_hash": None, "reason": reason,
             "created_at": now} for s, e in items if (s, e) not in existing]
    if rows:
        session.execute(insert(Tombstone), rows)
    customer_id = None
    if digest:
        customer_id = session.scalar(select(Tombstone.id).where(
            Tombstone.customer_hash == digest, Tombstone.source_id.is_(None)).limit(1))
        if customer_id is None:
            stone = Tombstone(source_id=None, external_id=None, customer_hash=digest,
                              reason=reason, created_at=now)
            session.add(stone)
            session.flush()
            customer_id = stone.id
            rows.append({})
    return len(rows), customer_id


def forget_customer_tombstone(session: Session, digest: str) -> int:
    """Lift the customer-level tombstone (e.g. the customer comes back and consents again).

    Item tombstones stay: the erased items themselves never return.
    """
    result = session.execute(delete(Tombstone).where(Tombstone.customer_hash == digest,
                                                     Tombstone.source_id.is_(None)))
    return result.rowcount or 0
