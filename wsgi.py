"""gunicorn entry point: ``gunicorn wsgi:app``. The scheduler is never started here."""

from web import create_app

# create_app imports the page modules and, through them, the insights and topics code, so
# that happens before workers fork (with --preload) or at worker start, not during
# someone's first request.
app = create_app()
