"""Login, logout, and the access-control decorators every other blueprint uses.

- ``login_required``: anonymous users are redirected to the login page (302).
- ``role_required("analyst")``: like login_required, and 403 when the role is too low.
- ``public``: marks a view that needs no login (the default is deny: see web.security).
- ``current_user()``: the logged-in :class:`~voc.models.users.User` (or the API token's), or None.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from voc import accounts
from voc.models.base import utcnow
from voc.models.users import User
from web import ratelimit
from web.db import get_session, get_settings

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark ``view`` as reachable without logging in."""
    view._voc_public = True  # type: ignore[attr-defined]
    return view


def is_public(view: Callable[..., Any] | None) -> bool:
    """True when ``view`` was marked with :func:`public`."""
    return bool(view is not None and getattr(view, "_voc_public", False))


def current_user() -> User | None:
    """The user of this request (session login or API token), loaded once per request."""
    if "user" not in g:
        g.user = None
        uid = session.get("uid")
        if uid is not None:
            user = get_session().get(User, uid)
            # A disabled user, or one whose password changed since login, is logged out.
            if user is not None and user.active and session.get("pwh") == _pw_fingerprint(user):
                g.user = user
    return g.user


def set_request_user(user: User) -> None:
    """Used by the API once a bearer token checks out."""
    g.user = user


def has_role(role: str) -> bool:
    """True when the current user has at least ``role``."""
    user = current_user()
    return user is not None and accounts.has_role(user.role, role)


def login_required(view: F) -> F:
    """Redirect anonymous users to the login page."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=_next_target()))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def role_required(role: str) -> Callable[[F], F]:
    """Require a login and at least ``role`` (viewer < analyst < admin); 403 otherwise."""
    if role not in accounts.ROLE_LEVEL:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=_next_target()))
            if not accounts.has_role(user.role, role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # noqa: ANN201
    """Show the login form; on POST check the password, rate-limited per user and address."""
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(nxt)
        return render_template("auth/login.html", next=nxt)

    settings = get_settings()
    db = get_session()
    username = (request.form.get("username") or "").strip()[:100]
    password = request.form.get("password") or ""
    key = ratelimit.attempt_key(username, request.remote_addr)
    if ratelimit.is_limited(db, key, settings.login_rate_limit):
        log.warning("login rate limit hit")
        return render_template("auth/login.html", next=nxt, username=username,
                               error="Too many failed attempts. Wait a minute and try again."), 429
    user = accounts.authenticate(db, username, password)
    if user is None:
        ratelimit.record_failure(db, key, settings.login_rate_limit)
        db.commit()
        log.info("login failed")
        return render_template("auth/login.html", next=nxt, username=username,
                               error="Wrong username or password."), 401
    ratelimit.clear(db, key)
    user.last_login_at = utcnow()
    db.commit()
    session.clear()  # no session fixation: a fresh session (and CSRF token) after login
    session.permanent = True
    session["uid"] = user.id
    session["pwh"] = _pw_fingerprint(user)
    g.user = user
    log.info("login ok user_id=%s", user.id)
    return redirect(nxt)


@bp.route("/logout", methods=["POST"])
@public
def logout():  # noqa: ANN201
    """End the session (POST with CSRF, so no other site can log people out)."""
    session.clear()
    g.pop("user", None)
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@login_required
def account():  # noqa: ANN201
    """The user's own account: role, and how to get an API token."""
    return render_template("auth/account.html", user=current_user())


def _pw_fingerprint(user: User) -> str:
    # Last characters of the hash (salted): changes whenever the password does.
    return (user.password_hash or "")[-16:]


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("dashboard.ranking") if "dashboard" in _blueprints() else "/"
    return target


def _next_target() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def _blueprints() -> list[str]:
    from flask import current_app

    return current_app.config.get("VOC_BLUEPRINTS", [])
