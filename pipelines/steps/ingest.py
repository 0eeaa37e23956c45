"""Pipeline step ``ingest``: read every enabled source (or one, for per-source jobs)."""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext

_SUMMED = ("read", "stored", "updated", "unchanged", "quarantined", "skipped_erased")


class IngestFailed(RuntimeError):
    """One or more sources failed; the message names them and why."""


def run(ctx: StepContext) -> dict[str, Any]:
    """Ingest all enabled sources; failures are logged, the others go on, then this raises.

    Returns summed counts plus ``sources`` (how many ran) and ``failed`` (how many failed).
    """
    from voc.ingest.service import ingest_all

    results = ingest_all(ctx.session_factory, ctx.settings, progress=ctx.progress)
    counts: dict[str, Any] = {name: sum(getattr(r, name) for r in results.values())
                              for name in _SUMMED}
    counts["sources"] = len(results)
    failed = {name: r.error for name, r in results.items() if r.error}
    counts["failed"] = len(failed)
    for name, r in results.items():
        if r.error:
            ctx.log.error("ingest %s failed: %s", name, r.error)
        else:
            ctx.log.info("ingest %s: %s", name, r.summary())
    if failed:
        detail = "; ".join(failed.values())
        raise IngestFailed(f"{len(failed)} of {len(results)} source(s) failed: {detail}")
    return counts


def run_source(ctx: StepContext, name: str) -> dict[str, Any]:
    """Ingest one source (the scheduler's per-source job); raises if it fails."""
    from voc.ingest.service import ingest_source

    result = ingest_source(ctx.session_factory, name, ctx.settings, progress=ctx.progress)
    ctx.log.info("ingest %s: %s", name, result.summary())
    return result.counts()
