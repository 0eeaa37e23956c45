"""Run a job and record it in the pipeline-runs table."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from pipelines.context import StepContext
from pipelines.steps import get_step
from voc.db import session_scope
from voc.models.base import utcnow
from voc.models.runs import PipelineRun

log = logging.getLogger(__name__)


def run_job(name: str, ctx: StepContext, *, raise_errors: bool = False) -> PipelineRun:
    """Run step ``name`` once, logging start, end, status, counts and error.

    A failure is recorded (status ``failed`` with the error) and, unless
    ``raise_errors``, swallowed so that other jobs keep running.
    """
    return run_callable(name, get_step(name), ctx, raise_errors=raise_errors)


def run_callable(name: str, step: Callable[[StepContext], dict[str, Any] | None],
                 ctx: StepContext, *, raise_errors: bool = False) -> PipelineRun:
    """Like :func:`run_job` for any callable (per-source ingest, weekly refit), logged as
    job ``name`` in the run log."""
    with session_scope(ctx.session_factory) as s:
        run = PipelineRun(job=name, trigger=ctx.trigger, status="running", started_at=utcnow())
        s.add(run)
        s.flush()
        run_id = run.id
    started = time.perf_counter()
    status, counts, error = "success", {}, None
    try:
        counts = dict(step(ctx) or {})
    except Exception as exc:  # noqa: BLE001 - recorded, then optionally re-raised
        status = "failed"
        error = f"{type(exc).__name__}: {exc}"
        log.error("job %s failed: %s\n%s", name, error, traceback.format_exc())
        if raise_errors:
            _finish(ctx, run_id, status, counts, error, started)
            raise
    run = _finish(ctx, run_id, status, counts, error, started)
    log.info("job %s %s in %.1fs %s", name, status, run.duration_s or 0.0, _fmt(counts))
    return run


def _finish(ctx: StepContext, run_id: int, status: str, counts: dict[str, Any],
            error: str | None, started: float) -> PipelineRun:
    with session_scope(ctx.session_factory) as s:
        run = s.get(PipelineRun, run_id)
        run.status = status
        run.counts = _jsonable(counts)
        run.error = error
        run.finished_at = utcnow()
        run.duration_s = round(time.perf_counter() - started, 3)
    return run


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in counts.items():
        plain = isinstance(v, (int, float, str, bool, type(None), list, dict))
        out[str(k)] = v if plain else str(v)
    return out


def _fmt(counts: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in counts.items())
