"""Retention: anonymise expired feedback, drop old raw text, expire quarantine.

Policy (what a support organisation expects: the trend charts of last year must
not change because old tickets expired):

- **Feedback older than ``retention_days[kind]``** is *anonymised*, not deleted:
  ``text`` becomes ``"[expired]"``, ``text_raw``, ``pain_quote`` and
  ``customer_hash`` are cleared, ``attributes`` (free-form source columns that
  may hold personal data) are emptied, and the embedding row is deleted. What
  stays are the non-personal facts the aggregates are made of (created_at, kind,
  channel, market, language, csat/nps, flags, sentiment score/label, topic), so
  stored weekly rollups stay the historical aggregate *and* a later rebuild of
  those weeks gives the same numbers. ``content_hash`` is kept, so re-importing
  the same old export finds the row "unchanged" instead of restoring the text.
  A ``"*"`` key in ``retention_days`` applies to kinds not listed.
- **Raw text** (``text_raw``, only filled with ``VOC_KEEP_RAW_TEXT``) is dropped
  after ``raw_text_retention_days`` (0 = keep).
- **Quarantined rows** (raw payloads) are deleted after
  ``quarantine_retention_days`` (0 = keep), whatever their status.
- **Items of erased customers** that a concurrent ingest stored while the erasure
  ran are erased again (``voc.compliance.erasure.sweep_leftovers``).
- **Open quarantined payloads** are redacted again with the current redactor
  (rows stored before it learned a new kind of personal data).
- **Quarantined rows of erased items or customers** (a re-import can park them
  there again: ingest checks tombstones for stored rows only) are deleted.
- The audit log is never touched (it is append-only in the database).

Work is done in batches of ``purge_batch_size`` ids, each in its own short
transaction (keyset pagination by id: no long locks, safe to interrupt, and
idempotent: a second run finds nothing to do).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, literal, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from voc import audit
from voc.compliance import hooks
from voc.config import ConfigError, Settings
from voc.db import session_scope
from voc.models.base import utcnow
from voc.models.compliance import Tombstone
from voc.models.feedback import FEEDBACK_KINDS, Feedback, FeedbackEmbedding, Quarantine

log = logging.getLogger(__name__)

#: What the text of an expired item is replaced with (pages show it as such).
EXPIRED_TEXT = "[expired]"


@dataclass
class PurgeReport:
    """Counts of one purge run (or what a dry run would do)."""

    dry_run: bool
    anonymised: dict[str, int] = field(default_factory=dict)  # kind -> items
    embeddings_deleted: int = 0
    alert_messages: int = 0
    raw_text_dropped: int = 0
    quarantine_deleted: int = 0
    erased_quarantine_deleted: int = 0
    quarantine_reredacted: int = 0  # open payloads the current redactor still changed
    erased_leftovers: int = 0  # items of erased customers stored by a concurrent ingest
    batches: int = 0
    duration_s: float = 0.0

    def counts(self) -> dict[str, int | float | bool]:
        """Flat counts for the pipeline run log."""
        out: dict[str, int | float | bool] = {
            "dry_run": self.dry_run,
            "anonymised": sum(self.anonymised.values()),
            "embeddings_deleted": self.embeddings_deleted,
            "alert_messages": self.alert_messages,
            "raw_text_dropped": self.raw_text_dropped,
            "quarantine_deleted": self.quarantine_deleted,
            "erased_quarantine_deleted": self.erased_quarantine_deleted,
            "quarantine_reredacted": self.quarantine_reredacted,
            "erased_leftovers": self.erased_leftovers,
            "batches": self.batches,
        }
        out.update({f"anonymised.{k}": n for k, n in sorted(self.anonymised.items())})
        return out

    @property
    def total(self) -> int:
        """Rows changed (or that would be)."""
        return (sum(self.anonymised.values()) + self.raw_text_dropped
                + self.quarantine_deleted + self.erased_quarantine_deleted
                + self.quarantine_reredacted + self.erased_leftovers)


def kind_cutoffs(settings: Settings, now: datetime) -> dict[str, datetime]:
    """The ``created_at`` cut-off per feedback kind (kinds without retention are absent)."""
    days = dict(settings.retention_days)
    unknown = set(days) - set(FEEDBACK_KINDS) - {"*"}
    if unknown:
        raise ConfigError(f"VOC_RETENTION_DAYS has unknown kinds {sorted(unknown)}: "
                          f"expected {', '.join(FEEDBACK_KINDS)} or '*'")
    default = days.pop("*", None)
    out = {}
    for kind in FEEDBACK_KINDS:
        n = days.get(kind, default)
        if n:
            out[kind] = now - timedelta(days=int(n))
    return out


def purge(session_factory: sessionmaker[Session], settings: Settings, *,
          now: datetime | None = None, dry_run: bool = False, actor: str = "scheduler",
          progress: bool = False) -> PurgeReport:
    """Apply the retention policy (module docstring); commits batch by batch."""
    t0 = time.perf_counter()
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    batch = settings.purge_batch_size
    bar = _progress(progress)
    for kind, cutoff in kind_cutoffs(settings, now).items():
        cond = (Feedback.kind == kind, Feedback.created_at < cutoff,
                Feedback.text != EXPIRED_TEXT)
        report.anonymised[kind] = _in_batches(
            session_factory, select(Feedback.id).where(*cond), Feedback.id, batch, dry_run,
            lambda s, ids: _anonymise(s, ids, report), report, bar)
    if settings.raw_text_retention_days:
        cutoff = now - timedelta(days=settings.raw_text_retention_days)
        report.raw_text_dropped = _in_batches(
            session_factory,
            select(Feedback.id).where(Feedback.created_at < cutoff, Feedback.text_raw.isnot(None)),
            Feedback.id, batch, dry_run,
            lambda s, ids: s.execute(update(Feedback).where(Feedback.id.in_(ids))
                                     .values(text_raw=None)
                                     .execution_options(synchronize_session=False)),
            report, bar)
    if settings.quarantine_retention_days:
        cutoff = now - timedelta(days=settings.quarantine_retention_days)
        report.quarantine_deleted = _in_batches(
            session_factory, select(Quarantine.id).where(Quarantine.created_at < cutoff),
            Quarantine.id, batch, dry_run,
            lambda s, ids: s.execute(delete(Quarantine).where(Quarantine.id.in_(ids))
                                     .execution_options(synchronize_session=False)),
            report, bar)
    from voc.compliance.erasure import sweep_leftovers
    from voc.compliance.quarantine import reredact_payloads

    report.erased_leftovers = sweep_leftovers(session_factory, settings, actor=actor,
                                              dry_run=dry_run)

    report.quarantine_reredacted = _in_batches(
        session_factory, select(Quarantine.id).where(Quarantine.status == "open"),
        Quarantine.id, batch, dry_run, reredact_payloads, report, None, counted=True)
    report.erased_quarantine_deleted = _in_batches(
        session_factory, select(Quarantine.id).where(erased_quarantine_condition()),
        Quarantine.id, batch, dry_run,
        lambda s, ids: s.execute(delete(Quarantine).where(Quarantine.id.in_(ids))
                                 .execution_options(synchronize_session=False)),
        report, bar)
    if bar is not None:
        bar.close()
    report.duration_s = round(time.perf_counter() - t0, 3)
    if report.total and not dry_run:
        with session_scope(session_factory) as s:
            audit.record(s, actor, "retention.purge", None, None, **report.counts())
    log.info("purge%s: %d anonymised, %d raw texts dropped, %d quarantine rows deleted "
             "in %d batches, %.2fs", " (dry run)" if dry_run else "",
             sum(report.anonymised.values()), report.raw_text_dropped,
             report.quarantine_deleted, report.batches, report.duration_s)
    return report


def erased_quarantine_condition():  # noqa: ANN201 - SQL expression
    """Quarantined rows of a tombstoned item or customer (they must not linger).

    Ingest quarantines broken rows before any tombstone check, so a re-import of an
    erased customer's export can park their rows here again; the purge removes them.
    """
    t = Tombstone
    by_item = exists().where(t.source_id == Quarantine.source_id,
                             t.external_id == Quarantine.external_id)
    by_customer = exists().where(
        t.source_id.is_(None), t.customer_hash.isnot(None),
        Quarantine.raw_payload.contains(literal("hash:") + t.customer_hash))
    return or_(by_item, by_customer)


def _anonymise(session: Session, ids: list[int], report: PurgeReport) -> None:
    report.embeddings_deleted += session.execute(
        delete(FeedbackEmbedding).where(FeedbackEmbedding.feedback_id.in_(ids))
        .execution_options(synchronize_session=False)).rowcount or 0
    scrubbed = hooks.scrub_alerts(session, ids)
    report.alert_messages += scrubbed or 0
    session.execute(update(Feedback).where(Feedback.id.in_(ids)).values(
        text=EXPIRED_TEXT, text_raw=None, pain_quote=None, customer_hash=None, attributes={},
    ).execution_options(synchronize_session=False))


def _in_batches(session_factory: sessionmaker[Session], query, id_col, size: int,  # noqa: ANN001
                dry_run: bool, apply: Callable[[Session, list[int]], object],
                report: PurgeReport, bar, *, counted: bool = False) -> int:  # noqa: ANN001
    """Keyset-paginate ``query`` by id; apply ``apply`` to each batch in its own transaction.

    Returns the rows handled. With ``counted``, ``apply`` returns how many rows it changed
    (that is the count) and runs in a dry run too, its batch then rolled back.
    """
    done, last = 0, None
    while True:
        with session_scope(session_factory) as s:
            stmt = query.order_by(id_col).limit(size)
            if last is not None:
                stmt = stmt.where(id_col > last)
            ids = list(s.scalars(stmt))
            if not ids:
                return done
            if counted:
                done += int(apply(s, ids))
                if dry_run:
                    s.rollback()
            else:
                if not dry_run:
                    apply(s, ids)
                done += len(ids)
        last = ids[-1]
        report.batches += 1
        if bar is not None:
            bar.update(len(ids))


def _progress(enabled: bool):  # noqa: ANN202
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc="purge", unit="row")
