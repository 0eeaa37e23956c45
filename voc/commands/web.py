"""``voc serve``: the development web server (never starts the scheduler)."""

from __future__ import annotations

import click

from voc.cli import AppContext, pass_app


def register(group: click.Group) -> None:
    """Add the ``serve`` command."""
    group.add_command(serve)


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default: VOC_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: VOC_PORT).")
@click.option("--debug", is_flag=True, help="Reloader and debugger (never in production).")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None, debug: bool) -> None:
    """Run the dashboard and API with Flask's development server.

    For production use gunicorn: ``gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app``.
    """
    from web import create_app

    settings = app.settings
    app.engine  # noqa: B018 - fail early, with one line, if the database is unreachable
    flask_app = create_app({"VOC_SETTINGS": settings})
    host = host or settings.host
    port = port or settings.port
    click.echo(f"voc dashboard on http://{host}:{port}/  (Ctrl+C to stop)")
    flask_app.run(host=host, port=port, debug=debug, use_reloader=debug, threaded=True)
