"""Ingest a source: read batches, validate, upsert, quarantine, move the cursor.

Each batch commits in its own transaction together with the source's cursor,
so a crash resumes after the last committed batch without duplicates.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voc.config import Settings
from voc.db import session_scope
from voc.ingest.connectors import Connector, RawBatch, SourceSpec, make_connector
from voc.ingest.errors import IngestError
from voc.ingest.records import Record, RecordBuilder, Rejected
from voc.ingest.upsert import prepare_rows, upsert_batch
from voc.models.base import utcnow
from voc.models.feedback import Source
from voc.nlp.redact import redact_many

log = logging.getLogger(__name__)

MAX_SAMPLES = 5  # quarantine reasons kept on the result for the CLI summary


@dataclass
class IngestResult:
    """Counts of one ingestion run of one source."""

    source: str
    read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped_erased: int = 0
    duplicates: int = 0
    text_changed: int = 0
    batches: int = 0
    duration_s: float = 0.0
    quarantine_samples: list[str] = field(default_factory=list)
    error: str | None = None

    def counts(self) -> dict[str, Any]:
        """Plain counts for the pipeline run log."""
        data = asdict(self)
        data.pop("quarantine_samples")
        data.pop("source")
        return data

    def summary(self) -> str:
        """``read N, stored N, updated N, unchanged N, quarantined N (skipped N erased) in X s``."""
        return (f"read {self.read}, stored {self.stored}, updated {self.updated}, "
                f"unchanged {self.unchanged}, quarantined {self.quarantined} "
                f"(skipped {self.skipped_erased} erased) in {self.duration_s:.1f} s")


def load_spec(session: Session, source_name: str) -> tuple[int, SourceSpec]:
    """The source's id and a detached :class:`SourceSpec`; IngestError if unknown."""
    source = session.scalar(select(Source).where(Source.name == source_name))
    if source is None:
        raise IngestError(f"no source named '{source_name}' "
                          "(add it with: python -m voc sources add NAME --type file|http|sql)")
    spec = SourceSpec(name=source.name, type=source.type, kind=source.kind,
                      settings=dict(source.settings or {}), cursor=dict(source.cursor or {}))
    return source.id, spec


def ingest_source(session_factory: sessionmaker[Session], source_name: str, settings: Settings,
                  *, path: str | Path | None = None, progress: bool = False,
                  kind: str | None = None, mapping: dict[str, str] | None = None,
                  fmt: str | None = None, connector: Connector | None = None) -> IngestResult:
    """Ingest one source (``path`` overrides a file source's path for a one-off file).

    ``kind``, ``mapping`` (merged over the source's) and ``fmt`` override the source's
    settings for this run; ``connector`` replaces the one built from the source (tests,
    embedding). Raises :class:`IngestError` (one line) when the source cannot be read;
    batches committed before the failure stay committed.
    """
    started = time.perf_counter()
    with session_scope(session_factory) as s:
        source_id, spec = load_spec(s, source_name)
    if fmt:
        spec.settings["format"] = fmt
    if mapping:
        spec.settings["mapping"] = {**(spec.settings.get("mapping") or {}), **mapping}
    if kind:
        spec.kind = kind
    if connector is None:
        connector = make_connector(spec, settings, path=Path(path) if path else None,
                                   progress=progress)
    builder = RecordBuilder(settings, default_kind=spec.kind,
                            mapping=spec.settings.get("mapping") or {})
    result = IngestResult(source=source_name)
    try:
        writer = _BatchWriter(session_factory, source_id, source_name, settings, result)
        try:
            dialect = _dialect(session_factory)
            for batch in connector.batches():
                records, rejected = _validate(batch, builder, dialect, settings.keep_raw_text)
                writer.put(batch, records, rejected)
        except BaseException:
            writer.close(raise_error=False)  # batches read before the failure still commit
            raise
        writer.close()
        with session_scope(session_factory) as s:
            s.execute(update(Source).where(Source.id == source_id)
                      .values(last_ingest_at=utcnow()))
    except IngestError as exc:
        exc.result = result  # what was committed before the failure
        result.error = str(exc)
        raise
    finally:
        result.duration_s = round(time.perf_counter() - started, 3)
        log.info("ingest source %s (%s): %s%s", source_name, connector.describe(),
                 result.summary(), f" [{result.batches} batches]")
    return result


def _validate(batch: RawBatch, builder: RecordBuilder, dialect: str = "",
              keep_raw: bool = False) -> tuple[list[Record], list[Rejected]]:
    records: list[Record] = []
    rejected: list[Rejected] = []
    for item in batch.items:
        if item.error is not None:
            rejected.append(Rejected(item.error, item.location,
                                     payload=builder.sanitize_payload(item.payload)))
            continue
        built = builder.build(item.payload, item.location, check_utf8=item.check_utf8)
        (records if isinstance(built, Record) else rejected).append(built)
    # Redaction and row formatting here, in the reading thread, overlap with the writer's
    # database work. Rows that turn out unchanged did not need them: a small cost next to
    # the write they overlap.
    for rec, text in zip(records, redact_many([r.text for r in records]), strict=True):
        rec.redacted = text
    prepare_rows(dialect, records, keep_raw)
    return records, rejected


def _dialect(session_factory: sessionmaker[Session]) -> str:
    bind = session_factory.kw.get("bind")
    return bind.dialect.name if bind is not None else ""


class _BatchWriter:
    """Writes validated batches in a background thread, in order, one transaction each.

    Reading and validating the next batch (Python, holding the GIL) overlaps with the
    database storing the previous one (the driver releases the GIL while the server
    works), so ingestion keeps two cores busy instead of taking turns. The queue holds
    at most one waiting batch (memory stays flat); order and "cursor commits with its rows"
    are unchanged. Only this thread touches the database while it runs.
    """

    def __init__(self, session_factory: sessionmaker[Session], source_id: int, source_name: str,
                 settings: Settings, result: IngestResult) -> None:
        self._factory = session_factory
        self._source_id = source_id
        self._source_name = source_name
        self._settings = settings
        self._result = result
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        # Guess that the items are new (a bulk load) until a batch shows otherwise: new items
        # are then written without looking up stored ones first (see upsert_batch).
        self._all_new = True
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"ingest-{source_name}",
                                        daemon=True)
        self._thread.start()

    def put(self, batch: RawBatch, records: list[Record], rejected: list[Rejected]) -> None:
        """Queue a batch (blocks while one is waiting); raises the writer's error, if any."""
        if self.error is not None:
            raise self.error
        self._queue.put((batch, records, rejected))

    def close(self, *, raise_error: bool = True) -> None:
        """Wait until every queued batch is written; re-raise the writer's error."""
        self._queue.put(None)
        self._thread.join()
        if raise_error and self.error is not None:
            raise self.error

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self.error is not None:
                continue  # after a failure nothing more is written; keep draining
            try:
                self._write(*job)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self.error = exc

    def _write(self, batch: RawBatch, records: list[Record], rejected: list[Rejected]) -> None:
        with session_scope(self._factory) as s:
            counts = upsert_batch(s, self._source_id, self._source_name, records, rejected,
                                  self._settings, all_new=self._all_new)
            if counts.guessed_wrong:
                self._all_new = False
            # The cursor commits with the rows: a crash never skips or repeats a batch.
            s.execute(update(Source).where(Source.id == self._source_id)
                      .values(cursor=batch.cursor))
        result = self._result
        result.batches += 1
        result.read += len(batch.items)
        for name in ("stored", "updated", "unchanged", "quarantined", "skipped_erased",
                     "duplicates", "text_changed"):
            setattr(result, name, getattr(result, name) + getattr(counts, name))
        for rej in rejected[: MAX_SAMPLES - len(result.quarantine_samples)]:
            result.quarantine_samples.append(f"{rej.location}: {rej.reason}")


DROP_SOURCE = "drop"


def ensure_drop_source(session: Session, settings: Settings) -> bool:
    """Register the ``drop`` file source for ``VOC_DROP_DIR`` if it is set and missing."""
    if settings.drop_dir is None:
        return False
    if session.scalar(select(Source.id).where(Source.name == DROP_SOURCE)) is not None:
        return False
    session.add(Source(name=DROP_SOURCE, type="file", kind="ticket", cursor={}, enabled=True,
                       settings={"path": str(Path(settings.drop_dir).expanduser())}))
    log.info("registered file source '%s' for VOC_DROP_DIR", DROP_SOURCE)
    return True


def ingest_all(session_factory: sessionmaker[Session], settings: Settings,
               *, progress: bool = False) -> dict[str, IngestResult]:
    """Ingest every enabled source; a failing source is recorded and the others go on.

    With ``VOC_DROP_DIR`` set, a ``drop`` file source for that folder is registered first.
    """
    with session_scope(session_factory) as s:
        ensure_drop_source(s, settings)
        names = list(s.scalars(select(Source.name).where(Source.enabled.is_(True))
                               .order_by(Source.name)))
    results: dict[str, IngestResult] = {}
    for name in names:
        try:
            results[name] = ingest_source(session_factory, name, settings, progress=progress)
        except IngestError as exc:
            log.error("ingest source %s failed: %s", name, exc)
            partial = getattr(exc, "result", None)
            results[name] = partial or IngestResult(source=name, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one source must not stop the others
            log.exception("ingest source %s failed", name)
            results[name] = IngestResult(source=name, error=f"{type(exc).__name__}: {exc}")
    return results
