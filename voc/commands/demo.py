"""``voc demo``: the one-command embedded setup (SQLite, demo data, pipeline, dashboard)."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

import click

from voc.cli import AppContext, UserError, pass_app

log = logging.getLogger(__name__)

DEMO_ADMIN = "demo"


def register(group: click.Group) -> None:
    """Add the ``demo`` command."""
    group.add_command(demo)


@click.command()
@click.option("--serve/--no-serve", default=False, help="Serve the dashboard afterwards.")
@click.option("--fresh", is_flag=True, help="Start from an empty database.")
@click.option("--weeks", default=12, show_default=True, help="Weeks of demo data.")
@pass_app
def demo(app: AppContext, serve: bool, fresh: bool, weeks: int) -> None:
    """Migrate, load demo data, run the whole pipeline once, create a demo login, serve."""
    settings = app.settings
    if settings.is_production:
        raise UserError("the demo command refuses to run with VOC_ENV=production")
    started = time.perf_counter()
    if fresh and settings.is_sqlite:
        db_file = Path(settings.database_url.split("///", 1)[-1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_file) + suffix).unlink(missing_ok=True)

    from voc import migrate

    click.echo("1/5 migrating the database")
    migrate.upgrade(settings.database_url)

    click.echo("2/5 writing demo data")
    from voc.ingest.demo_data import write_demo_data

    demo_dir = settings.instance_dir / "demo"
    manifest = write_demo_data(demo_dir, weeks=weeks)

    click.echo("3/5 registering sources")
    _ensure_demo_sources(app, manifest)

    click.echo("4/5 running the pipeline (ingest, enrich, topics, rollups, rank, alerts)")
    from pipelines.context import StepContext
    from pipelines.runner import run_job
    from pipelines.steps import available_steps

    ctx = StepContext(settings=settings, engine=app.engine, session_factory=app.session_factory,
                      progress=True, options={"refit": True})
    for step in available_steps():
        if step == "purge":
            continue  # nothing expires in fresh demo data
        run = run_job(step, ctx)
        counts = ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items())
        click.echo(f"    {step:8s} {run.status:8s} {run.duration_s or 0:6.1f}s  {counts}")
        if run.status != "success":
            raise UserError(f"step {step} failed: {run.error}")

    click.echo("5/5 demo login")
    password = _ensure_demo_user(app)
    elapsed = time.perf_counter() - started
    safe_url = app.engine.url.render_as_string(hide_password=True)
    click.echo(f"\nvoc demo ready in {elapsed:.0f}s: {safe_url}")
    url = f"http://{settings.host}:{settings.port}/"
    if password:
        click.echo(f"  dashboard: {url}\n  login:     {DEMO_ADMIN} / {password}   (role admin)")
    else:
        click.echo(f"  dashboard: {url}\n  login:     {DEMO_ADMIN} (password set on first run; "
                   f"reset with: python -m voc users password {DEMO_ADMIN} --password-stdin)")
    if serve:
        from web import create_app

        web_app = create_app({"VOC_SETTINGS": settings})
        click.echo(f"serving on {url} (Ctrl+C to stop)")
        web_app.run(host=settings.host, port=settings.port, debug=False, use_reloader=False)


def _ensure_demo_sources(app: AppContext, manifest) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.models import Source

    wanted = manifest.sources()
    with session_scope(app.session_factory) as s:
        existing = {src.name for src in s.scalars(select(Source))}
        for spec in wanted:
            if spec["name"] not in existing:
                s.add(Source(**spec))


def _ensure_demo_user(app: AppContext) -> str | None:
    """Create the demo admin with a random password; None if it already exists."""
    from sqlalchemy import select

    from voc.db import session_scope
    from voc.models import User
    from voc.users import create_user

    with session_scope(app.session_factory) as s:
        if s.scalar(select(User).where(User.username == DEMO_ADMIN)) is not None:
            return None
        password = secrets.token_urlsafe(9)
        create_user(s, DEMO_ADMIN, password=password, role="admin", actor="demo")
        return password
