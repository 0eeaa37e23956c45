"""gunicorn entry point: ``gunicorn wsgi:app``. The scheduler is never started here."""

from web import create_app

app = create_app()
