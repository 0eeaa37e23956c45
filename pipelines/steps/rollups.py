"""Pipeline step ``rollups``: refresh weekly rollups (incremental, or given weeks)."""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext
from voc.db import session_scope


def run(ctx: StepContext) -> dict[str, Any]:
    """Recompute changed weeks; ``ctx.options["weeks"]`` (a backfill) recomputes exactly those.

    Counts: weeks, slices, feedback, first/last week recomputed.
    """
    from voc.insights import rollups

    weeks = _weeks(ctx)
    with session_scope(ctx.session_factory) as s:
        if weeks:
            counts = rollups.rebuild_weeks(s, ctx.settings, weeks)
        else:
            counts = rollups.refresh(s, ctx.settings)
    done = counts.pop("week_list")
    counts["first_week"] = done[0] if done else None
    counts["last_week"] = done[-1] if done else None
    return counts


def _weeks(ctx: StepContext) -> list[str]:
    if ctx.options.get("weeks"):
        return list(ctx.options["weeks"])
    if ctx.options.get("week"):
        return [ctx.options["week"]]
    return []
