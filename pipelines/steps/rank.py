"""Pipeline step ``rank``: map topics to policies, then rank every week that needs it.

A week needs ranking when it has none yet or a rollup in its baseline window is newer than
its ranking; ``ctx.options["weeks"]`` / ``["week"]`` rank exactly those. Weeks are ranked
oldest first, one transaction each, so that rank changes compare with fresh rankings.
"""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext
from voc.db import session_scope


def run(ctx: StepContext) -> dict[str, Any]:
    """Counts: weeks ranked, rows written, policy mappings."""
    from voc.insights import policies, ranking

    counts: dict[str, Any] = {"weeks": 0, "rows": 0}
    with session_scope(ctx.session_factory) as s:
        mapped = policies.map_topics(s, ctx.settings)
        counts["policy_mappings"] = mapped["mapped"]
        if ctx.options.get("weeks"):
            weeks = sorted(ctx.options["weeks"])
        elif ctx.options.get("week"):
            weeks = [ctx.options["week"]]
        else:
            weeks = ranking.weeks_to_rank(s, ctx.settings)
    iterator = weeks
    if ctx.progress and len(weeks) > 1:
        from tqdm import tqdm

        iterator = tqdm(weeks, desc="rank", unit="week")
    for week in iterator:
        with session_scope(ctx.session_factory) as s:
            res = ranking.rank_week(s, ctx.settings, week)
        counts["weeks"] += 1
        counts["rows"] += res["rows"]
    counts["last_week"] = weeks[-1] if weeks else None
    return counts
