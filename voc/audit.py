"""Append-only audit log writer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voc.models.users import AuditLog


def record(session: Session, actor: str, action: str, target_type: str | None = None,
           target_id: str | int | None = None, **details: Any) -> AuditLog:
    """Add an audit entry (committed with the caller's transaction).

    Never put personal data (customer ids, verbatim text) in ``details``.
    """
    entry = AuditLog(actor=actor, action=action, target_type=target_type,
                     target_id=None if target_id is None else str(target_id), details=details)
    session.add(entry)
    return entry
