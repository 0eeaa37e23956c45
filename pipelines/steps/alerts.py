"""The ``alerts`` step: evaluate subscriptions on the newest ranking and deliver (after rank)."""

from __future__ import annotations

from typing import Any

from pipelines.context import StepContext


def run(ctx: StepContext) -> dict[str, Any]:
    """Evaluate, queue and send alerts; also retries due deliveries. Options: week, dry_run."""
    from voc.alerts.service import run_alerts

    result = run_alerts(ctx.session_factory, ctx.settings, week=ctx.options.get("week"),
                        dry_run=ctx.options.get("dry_run"))
    return result.counts()
