"""``voc run STEP|all`` (one pipeline pass now) and ``voc scheduler`` (the scheduler process)."""

from __future__ import annotations

import click

from voc.cli import AppContext, UserError, pass_app

_STEPS = ("ingest", "enrich", "topics", "rollups", "rank", "alerts", "purge", "all")


def register(group: click.Group) -> None:
    """Add ``run`` and ``scheduler``."""
    group.add_command(run)
    group.add_command(scheduler)


def _check_week(week: str, what: str) -> str:
    from voc.insights.weeks import parse_week

    try:
        parse_week(week)
    except ValueError as exc:
        raise UserError(f"{what}: {exc}") from None
    return week


@click.command()
@click.argument("step", type=click.Choice(_STEPS))
@click.option("--backfill", nargs=2, metavar="FROM TO",
              help="Recompute rollups and rankings for weeks FROM..TO (e.g. 2026-W01 2026-W20).")
@click.option("--week", help="Recompute rollups and ranking of this week only (YYYY-Www).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@pass_app
def run(app: AppContext, step: str, backfill: tuple[str, str] | None, week: str | None,
        no_progress: bool) -> None:
    """Run one pipeline STEP now, or ``all`` available steps in order.

    With --backfill or --week only the rollups and rank steps run, for those weeks.
    """
    from pipelines.context import StepContext
    from pipelines.runner import run_job
    from pipelines.steps import available_steps

    options: dict = {}
    if backfill:
        first, last = (_check_week(w, "--backfill") for w in backfill)
        from voc.insights.weeks import week_range

        weeks = week_range(first, last)
        if not weeks:
            raise UserError(f"--backfill: {first} is after {last}")
        options["weeks"] = weeks
    elif week:
        options["week"] = _check_week(week, "--week")
    available = available_steps()
    if step == "all":
        steps = [s for s in available if s in ("rollups", "rank")] if options else available
    else:
        if step not in available:
            raise UserError(f"step {step!r} is not available yet (available: "
                            f"{', '.join(available) or 'none'})")
        if options and step not in ("rollups", "rank"):
            raise UserError("--backfill/--week apply to the rollups and rank steps only")
        steps = [step]
    ctx = StepContext(settings=app.settings, engine=app.engine,
                      session_factory=app.session_factory, options=options, trigger="manual",
                      progress=not no_progress)
    failed = []
    for name in steps:
        result = run_job(name, ctx)
        counts = " ".join(f"{k}={v}" for k, v in (result.counts or {}).items())
        click.echo(f"{name:<8} {result.status:<8} {result.duration_s or 0:7.1f}s  {counts}")
        if result.status != "success":
            click.echo(f"         {result.error}", err=True)
            failed.append(name)
    if failed:
        raise UserError(f"{len(failed)} step(s) failed: {', '.join(failed)}")


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Show the jobs and schedules, then exit.")
@pass_app
def scheduler(app: AppContext, list_only: bool) -> None:
    """Run the scheduler process (one per database) until stopped."""
    from pipelines.lock import LockHeld
    from pipelines.scheduler import planned_jobs, run_scheduler

    settings = app.settings
    if list_only:
        for spec, steps, schedule in planned_jobs(settings):
            click.echo(f"{spec.id:<10} {schedule:<14} {'+'.join(steps) or spec.id}")
        return
    try:
        run_scheduler(settings, app.engine, app.session_factory)
    except LockHeld as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:  # a malformed schedule setting
        raise UserError(f"configuration error: {exc}") from None
