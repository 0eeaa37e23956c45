"""Pipeline step ``enrich``: language, embeddings, sentiment and pain quotes of new items."""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext


def run(ctx: StepContext) -> dict[str, Any]:
    """Enrich every pending item (new, changed or marked stale) in batches; returns counts.

    ``ctx.options`` may carry ``limit`` (max items this run) and ``batch_size``.
    """
    from voc.nlp.enrich import enrich_pending

    counts = enrich_pending(ctx.session_factory, ctx.settings,
                            batch_size=ctx.options.get("batch_size"),
                            limit=ctx.options.get("limit"), progress=ctx.progress)
    # the run log wants flat values: languages become "en:120 de:14"
    counts["languages"] = " ".join(f"{k}:{v}" for k, v in counts["languages"].items())
    return counts
