"""gunicorn entry point: ``gunicorn wsgi:app``. The scheduler is never started here."""

from web import create_app, insights_bridge

app = create_app()
# Import the insights/topics code before workers fork (with --preload) or at worker start,
# not during someone's first request.
insights_bridge.warm_up()
