"""Flask application factory for the voc dashboard and JSON API.

``create_app(config=None)`` layers configuration the flaskr way: Settings from
``voc.config.load()`` (``VOC_*`` variables), then a mapping override (tests pass
``{"DATABASE_URL": ..., "TESTING": True}`` or a ready ``VOC_SETTINGS`` / ``SESSION_FACTORY``).
Blueprints come from :data:`BLUEPRINT_MODULES`; a module that does not exist yet is
skipped. The scheduler is never started here.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, g, request

from voc import config as voc_config

log = logging.getLogger(__name__)

#: Each module exposes ``bp`` (a Blueprint). web.alerts / web.compliance belong to other areas.
BLUEPRINT_MODULES = (
    "web.auth",
    "web.dashboard",
    "web.topics",
    "web.verbatims",
    "web.admin",
    "web.api",
    "web.alerts",
    "web.compliance",
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides settings and Flask config keys."""
    config = dict(config or {})
    settings = _settings(config)
    app = Flask(__name__, instance_path=str(settings.instance_dir), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="voc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in web.security (API requests are exempt)
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead of a clock
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in config.items()
                       if k not in ("DATABASE_URL", "VOC_SETTINGS", "SESSION_FACTORY")})
    app.config["VOC_SETTINGS"] = settings

    from web import db, security, template_helpers

    db.init_app(app, settings, config.get("SESSION_FACTORY"))
    security.init_app(app)
    template_helpers.init_app(app)
    app.config["VOC_BLUEPRINTS"] = _register_blueprints(app)
    _request_logging(app)
    if settings.trusted_proxies > 0:
        # Behind nginx/a load balancer the client address (login rate limit, logs) and the
        # scheme come from X-Forwarded-*; only as many hops as configured are believed, so a
        # client cannot spoof its address by sending the header itself.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app


def _settings(config: dict[str, Any]) -> voc_config.Settings:
    settings = config.get("VOC_SETTINGS") or voc_config.load()
    if config.get("DATABASE_URL"):
        settings = settings.replace(database_url=config["DATABASE_URL"])
    if config.get("SECRET_KEY"):
        settings = settings.replace(secret_key=config["SECRET_KEY"])
    return settings


def _register_blueprints(app: Flask) -> list[str]:
    registered = []
    for name in BLUEPRINT_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has not landed yet
                continue
            raise
        app.register_blueprint(module.bp)
        registered.append(module.bp.name)
    return registered


def _request_logging(app: Flask) -> None:
    # Path only, never the query string: it may carry a search the user typed.
    @app.before_request
    def _start_timer() -> None:
        g._t0 = time.perf_counter()

    @app.after_request
    def _log_request(response):  # noqa: ANN001, ANN202
        t0 = g.get("_t0")
        if t0 is not None and not request.path.startswith("/static/"):
            log.info("%s %s %s %.1fms", request.method, request.path, response.status_code,
                     (time.perf_counter() - t0) * 1000)
        return response
