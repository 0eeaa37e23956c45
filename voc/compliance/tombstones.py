"""Look-ups that keep erased data from coming back through ingestion."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

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
