"""The scheduler's jobs as a plain declarative list (reconciled by ``pipelines.scheduler``).

Each :class:`JobSpec` names its pipeline steps (run in order, each recorded in the run log by
``pipelines.runner.run_job``) or a callable, and the Settings field holding its schedule.
Schedules are ``"every 15m"`` / ``"every 2s"`` / ``"every 1h"`` / ``"every 1d"``, a crontab
line (``"30 2 * * 1"``, in ``settings.timezone``), or ``""`` / ``"off"`` to disable.
Per-source ingest jobs (``ingest:<source>``) come from ``Source.schedule`` (or
``settings.schedule_ingest_default``) and are re-read every minute.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.context import StepContext


@dataclass(frozen=True)
class JobSpec:
    """One periodic job."""

    id: str
    schedule_setting: str  # Settings field with the schedule
    steps: tuple[str, ...] = ()  # pipeline steps, in order
    call: Callable[[StepContext], dict[str, Any] | None] | None = None  # or a callable

    def schedule(self, settings) -> str:  # noqa: ANN001 - voc.config.Settings
        return str(getattr(settings, self.schedule_setting) or "").strip()


def refit_topics(ctx: StepContext) -> dict[str, Any]:
    """Weekly topic refit (the topics area's service)."""
    from voc.nlp.topics.service import refit

    return dict(refit(ctx.session_factory, ctx.settings) or {})


def send_digests(ctx: StepContext) -> dict[str, Any]:
    """Weekly digests that are due (idempotent per user per week; checked hourly)."""
    from voc.alerts.digest import send_due_digests

    return dict(send_due_digests(ctx.session_factory, ctx.settings).counts())


JOBS: tuple[JobSpec, ...] = (
    JobSpec("enrich", "schedule_enrich", steps=("enrich",)),
    JobSpec("topics", "schedule_topics", steps=("topics",)),
    JobSpec("refit", "schedule_refit", call=refit_topics),
    JobSpec("insights", "schedule_insights", steps=("rollups", "rank")),
    JobSpec("alerts", "schedule_alerts", steps=("alerts",)),
    JobSpec("digest", "schedule_digest", call=send_digests),
    JobSpec("purge", "schedule_purge", steps=("purge",)),
)

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_schedule(spec: str, timezone: str = "UTC"):  # noqa: ANN201 - an APScheduler trigger
    """An APScheduler trigger for ``spec`` (None when disabled); ValueError if malformed."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    spec = (spec or "").strip()
    if not spec or spec.lower() == "off":
        return None
    m = _EVERY.match(spec)
    if m:
        amount = int(m.group(1))
        if amount <= 0:
            raise ValueError(f"schedule {spec!r}: interval must be positive")
        return IntervalTrigger(**{_UNITS[m.group(2).lower()]: amount}, timezone=timezone)
    if len(spec.split()) == 5:
        return CronTrigger.from_crontab(spec, timezone=timezone)
    raise ValueError(f"schedule {spec!r}: expected 'every 15m' or a crontab line like "
                     "'30 2 * * 1'")
