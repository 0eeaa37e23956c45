"""Security headers, CSRF policy and the login-required safety net."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()

#: Strict policy: no inline scripts or styles, nothing from other origins, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    """Install CSRF checks, the default-deny login check and response headers."""
    csrf.init_app(app)

    @app.before_request
    def _csrf_unless_api() -> None:
        # API calls authenticate with a bearer token, never the session cookie, so a
        # forged cross-site request carries no credentials: CSRF does not apply there.
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith(API_PREFIX):
            return
        csrf.protect()

    @app.before_request
    def _default_deny():  # noqa: ANN202
        # Safety net: every page needs a login unless its view is marked public.
        from web.auth import current_user, is_public

        if request.path.startswith(API_PREFIX) or request.endpoint is None:
            return None
        if request.endpoint == "static" or is_public(app.view_functions.get(request.endpoint)):
            return None
        if current_user() is None:
            return redirect(url_for("auth.login", next=_safe_next()))
        return None

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):  # noqa: ANN202
        from flask import render_template

        return render_template("errors/error.html", code=400,
                               message="The form expired or was not sent from this site. "
                                       "Go back, reload the page and try again."), 400

    @app.after_request
    def _headers(response):  # noqa: ANN001, ANN202
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")  # pages hold customer feedback
        return response


def _safe_next() -> str:
    path = request.full_path if request.query_string else request.path
    return path if path.startswith("/") and not path.startswith("//") else "/"
