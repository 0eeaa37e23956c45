"""Pipeline step ``purge``: apply the retention policy (voc.compliance.retention).

Options: ``dry_run`` (count only). Runs last in the pipeline; batches commit
one by one, so an interrupted run simply continues next time.
"""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext
from voc.compliance.retention import purge


def run(ctx: StepContext) -> dict[str, Any]:
    """Anonymise expired feedback, drop old raw text, delete expired quarantine rows."""
    actor = "scheduler" if ctx.trigger == "scheduler" else f"pipeline:{ctx.trigger}"
    report = purge(ctx.session_factory, ctx.settings, dry_run=bool(ctx.options.get("dry_run")),
                   actor=actor, progress=ctx.progress)
    return report.counts()
