"""The scheduler process: an APScheduler 3 ``BlockingScheduler`` running the job list.

Only one scheduler runs per database (:mod:`pipelines.lock`). Jobs have explicit ids and are
added with ``replace_existing=True``, ``coalesce=True``, ``max_instances=1`` and
``settings.schedule_misfire_grace_s``. Every execution goes through
``pipelines.runner.run_job`` / ``run_callable`` so it is recorded (status, counts, duration,
error); a failure is recorded and swallowed, so other jobs keep running and the failed job
simply runs again on its next tick. Never started inside web workers.
"""

from __future__ import annotations

import importlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.context import StepContext
from pipelines.jobs import JOBS, JobSpec, parse_schedule
from pipelines.lock import SchedulerLock
from pipelines.runner import run_callable, run_job
from pipelines.steps import available_steps
from voc.config import Settings

log = logging.getLogger(__name__)

SOURCE_SYNC_S = 60
LOCK_CHECK_S = 30


def _ctx(settings: Settings, engine: Engine, factory: sessionmaker[Session]) -> StepContext:
    return StepContext(settings=settings, engine=engine, session_factory=factory,
                       trigger="scheduler")


def _run_steps(steps: tuple[str, ...], make_ctx: Callable[[], StepContext]) -> None:
    for step in steps:  # each step recorded on its own; a failure does not skip the next
        run_job(step, make_ctx())


def _run_call(job_id: str, fn: Callable, make_ctx: Callable[[], StepContext]) -> None:
    run_callable(job_id, fn, make_ctx())


def _run_ingest_source(name: str, make_ctx: Callable[[], StepContext]) -> None:
    from pipelines.steps.ingest import run_source

    run_callable(f"ingest:{name}", lambda ctx: run_source(ctx, name), make_ctx())


def _callable_available(spec: JobSpec) -> bool:
    if spec.id == "refit":
        try:
            mod = importlib.import_module("voc.nlp.topics.service")
        except ImportError:
            return False
        return hasattr(mod, "refit")
    return True


def planned_jobs(settings: Settings) -> list[tuple[JobSpec, tuple[str, ...], str]]:
    """The static jobs that will be scheduled: (spec, available steps, schedule)."""
    avail = set(available_steps())
    out = []
    for spec in JOBS:
        schedule = spec.schedule(settings)
        if not schedule or schedule.lower() == "off":
            continue
        steps = tuple(s for s in spec.steps if s in avail)
        if spec.steps and not steps:
            continue
        if spec.call is not None and not _callable_available(spec):
            continue
        out.append((spec, steps, schedule))
    return out


def _job_kwargs(settings: Settings) -> dict[str, Any]:
    return {"replace_existing": True, "coalesce": True, "max_instances": 1,
            "misfire_grace_time": settings.schedule_misfire_grace_s}


def sync_source_jobs(scheduler, settings: Settings, factory: sessionmaker[Session],  # noqa: ANN001
                     make_ctx: Callable[[], StepContext],
                     known: dict[str, str] | None = None) -> list[str]:
    """Add/replace an ``ingest:<name>`` job per enabled scheduled source; drop stale ones.

    ``known`` (job id -> schedule it was built from) avoids re-adding unchanged jobs, which
    would reset their next run time.
    """
    known = {} if known is None else known
    if "ingest" not in available_steps():
        return []
    from voc.models.feedback import Source

    with factory() as s:
        rows = s.execute(select(Source.name, Source.schedule).where(
            Source.enabled.is_(True))).all()
    wanted = {}
    for name, schedule in rows:
        spec = (schedule or settings.schedule_ingest_default or "").strip()
        if not spec:
            continue
        try:
            trigger = parse_schedule(spec, settings.timezone)
        except ValueError as exc:
            log.error("source %s: bad schedule, not scheduled: %s", name, exc)
            continue
        if trigger is not None:
            wanted[f"ingest:{name}"] = (name, spec, trigger)
    current = {j.id: j for j in scheduler.get_jobs() if j.id.startswith("ingest:")}
    for job_id in set(current) - set(wanted):
        scheduler.remove_job(job_id)
        known.pop(job_id, None)
        log.info("unscheduled %s", job_id)
    for job_id, (name, spec, trigger) in wanted.items():
        if job_id in current and known.get(job_id) == spec:
            continue
        scheduler.add_job(_run_ingest_source, trigger, id=job_id, name=job_id,
                          args=(name, make_ctx), **_job_kwargs(settings))
        known[job_id] = spec
        log.info("scheduled %s: %s", job_id, spec)
    return sorted(wanted)


def build_scheduler(settings: Settings, engine: Engine, factory: sessionmaker[Session],
                    *, scheduler_cls=None, lock: SchedulerLock | None = None):  # noqa: ANN001, ANN201
    """A configured (not started) scheduler with every job of the list."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler_cls = scheduler_cls or BlockingScheduler
    # SQLite serialises writers anyway; PostgreSQL can run two jobs side by side.
    workers = 1 if engine.dialect.name == "sqlite" else 2
    scheduler = scheduler_cls(executors={"default": ThreadPoolExecutor(workers)},
                              timezone=settings.timezone)

    def make_ctx() -> StepContext:
        return _ctx(settings, engine, factory)

    for spec, steps, schedule in planned_jobs(settings):
        trigger = parse_schedule(schedule, settings.timezone)
        if spec.call is not None:
            scheduler.add_job(_run_call, trigger, id=spec.id, name=spec.id,
                              args=(spec.id, spec.call, make_ctx), **_job_kwargs(settings))
        else:
            scheduler.add_job(_run_steps, trigger, id=spec.id, name=spec.id,
                              args=(steps, make_ctx), **_job_kwargs(settings))
        log.info("scheduled %s (%s): %s", spec.id, "+".join(steps) or spec.id, schedule)
    known: dict[str, str] = {}
    sync_source_jobs(scheduler, settings, factory, make_ctx, known)
    scheduler.add_job(sync_source_jobs, "interval", seconds=SOURCE_SYNC_S, id="_sources",
                      args=(scheduler, settings, factory, make_ctx, known),
                      **_job_kwargs(settings))
    if lock is not None:
        def check_lock() -> None:
            if not lock.alive():
                log.error("scheduler lock lost (database connection dropped); stopping")
                scheduler.shutdown(wait=False)

        scheduler.add_job(check_lock, "interval", seconds=LOCK_CHECK_S, id="_lock",
                          **_job_kwargs(settings))
    return scheduler


def run_scheduler(settings: Settings, engine: Engine, factory: sessionmaker[Session]) -> None:
    """Take the lock (``LockHeld`` if another scheduler runs), then run until stopped."""
    lock = SchedulerLock(settings, engine).acquire()
    scheduler = None
    try:
        scheduler = build_scheduler(settings, engine, factory, lock=lock)

        def stop(signum, _frame) -> None:  # noqa: ANN001
            log.info("signal %s: stopping the scheduler", signum)
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        lock.release()
        log.info("scheduler stopped")
