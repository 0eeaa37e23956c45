"""``voc db ...``: schema migrations."""

from __future__ import annotations

import click

from voc.cli import AppContext, pass_app


def register(group: click.Group) -> None:
    """Add the ``db`` command group."""
    group.add_command(db)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.argument("revision", default="head")
@pass_app
def upgrade(app: AppContext, revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    from voc import migrate

    app.engine  # noqa: B018 - fail early, with one line, if unreachable
    migrate.upgrade(app.settings.database_url, revision)
    click.echo(f"database at {revision}: {app.engine.url.render_as_string(hide_password=True)}")


@db.command()
@click.argument("revision")
@pass_app
def downgrade(app: AppContext, revision: str) -> None:
    """Downgrade the database to REVISION (e.g. base)."""
    from voc import migrate

    app.engine  # noqa: B018
    migrate.downgrade(app.settings.database_url, revision)
    click.echo(f"database at {revision}")
