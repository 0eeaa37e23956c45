"""``topics`` step: assign new items to canonical topics; bootstrap or refit when asked.

Incremental and idempotent: only items with an embedding and no topic are
considered; items the enrich step has not embedded yet wait for the next run.
``ctx.options["refit"]`` (the weekly job, or ``voc topics refit``) forces a full
refit; an empty registry bootstraps one automatically.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pipelines.context import StepContext
from voc.db import session_scope
from voc.models.topics import Topic


def run(ctx: StepContext) -> dict[str, Any]:
    """Assign pending items; refit first when the registry is empty or a refit is requested."""
    from voc.nlp.topics import service

    with session_scope(ctx.session_factory) as s:
        n_topics = s.scalar(select(func.count()).select_from(Topic)) or 0
    counts: dict[str, Any] = {}
    if ctx.options.get("refit") or n_topics == 0:
        weeks = ctx.options.get("window_weeks")
        res = service.refit(ctx.session_factory, ctx.settings,
                            window_weeks=int(weeks) if weeks else None, progress=ctx.progress,
                            kind="bootstrap" if n_topics == 0 else "refit")
        counts.update({"refit": 1, "refit_docs": res.get("docs", 0),
                       "clusters": res.get("clusters", 0), "matched": res.get("matched", 0),
                       "new_topics": res.get("new_topics", 0), "moved": res.get("moved", 0),
                       "assigned": res.get("assigned", 0)})
    res = service.assign_pending(ctx.session_factory, ctx.settings, progress=ctx.progress)
    counts["assigned"] = counts.get("assigned", 0) + res["assigned"]
    counts["clustered"] = res["clustered"]
    counts["new_topics"] = counts.get("new_topics", 0) + res["new_topics"]
    counts["unassigned"] = res["unassigned"]
    counts["topics"] = res["topics"]
    return counts
