"""Reading and exporting the audit log (filters shared by the CLI and the admin page)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voc.models.users import AuditLog

CSV_COLUMNS = ("id", "at", "actor", "action", "target_type", "target_id", "details")
#: Characters that make a spreadsheet treat a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """Optional filters; ``action`` matches a prefix (``topic.`` finds every curation)."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None

    def apply(self, stmt: Select) -> Select:
        """Add the filters to a SELECT over AuditLog (bound parameters only)."""
        if self.since is not None:
            stmt = stmt.where(AuditLog.at >= self.since)
        if self.until is not None:
            stmt = stmt.where(AuditLog.at < self.until)
        if self.actor:
            stmt = stmt.where(AuditLog.actor == self.actor)
        if self.action:
            stmt = stmt.where(AuditLog.action.startswith(self.action, autoescape=True))
        if self.target_type:
            stmt = stmt.where(AuditLog.target_type == self.target_type)
        return stmt


def query_entries(session: Session, filters: AuditFilter, *, limit: int | None = 100,
                  offset: int = 0, newest_first: bool = True) -> list[AuditLog]:
    """Audit entries matching ``filters`` (a page of them)."""
    order = AuditLog.id.desc() if newest_first else AuditLog.id.asc()
    stmt = filters.apply(select(AuditLog)).order_by(order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def distinct_actions(session: Session) -> list[str]:
    """Actions that occur in the log (for the filter drop-down)."""
    return sorted(session.scalars(select(AuditLog.action).distinct()))


def iter_csv(session: Session, filters: AuditFilter, batch: int = 1000) -> Iterator[str]:
    """The matching entries as CSV text chunks, oldest first, streamed in batches."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buf)
    last = 0
    while True:
        stmt = (filters.apply(select(AuditLog)).where(AuditLog.id > last)
                .order_by(AuditLog.id).limit(batch))
        rows = list(session.scalars(stmt))
        if not rows:
            return
        for e in rows:
            writer.writerow([_cell(v) for v in (
                e.id, e.at.isoformat() if e.at else "", e.actor, e.action, e.target_type or "",
                e.target_id or "", json.dumps(e.details or {}, sort_keys=True,
                                              ensure_ascii=False))])
        last = rows[-1].id
        yield _drain(buf)


def _drain(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def _cell(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
