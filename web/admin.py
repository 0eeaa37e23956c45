"""Admin pages: pipeline status (runs, quarantine, re-run a step) and user management."""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from voc import accounts
from voc.models.feedback import Quarantine
from voc.models.runs import PipelineRun
from voc.models.users import User
from web.auth import current_user, role_required
from web.db import get_session

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")

_running: set[str] = set()  # steps started from this process and not finished yet
_running_lock = threading.Lock()


@bp.route("/")
@role_required("admin")
def index():  # noqa: ANN201
    """Last run of each job, recent runs, open quarantine."""
    session = get_session()
    latest = select(PipelineRun.job, func.max(PipelineRun.id).label("id")).group_by(
        PipelineRun.job).subquery()
    last_runs = list(session.scalars(select(PipelineRun).join(latest, PipelineRun.id == latest.c.id)
                                     .order_by(PipelineRun.job)))
    recent = list(session.scalars(select(PipelineRun).order_by(PipelineRun.id.desc()).limit(30)))
    status = request.args.get("q_status", "open")
    qstmt = select(Quarantine)
    if status in ("open", "fixed", "discarded"):
        qstmt = qstmt.where(Quarantine.status == status)
    quarantine = list(session.scalars(qstmt.order_by(Quarantine.id.desc()).limit(100)))
    q_counts = dict(session.execute(select(Quarantine.status, func.count())
                                    .group_by(Quarantine.status)).all())
    steps = _steps()
    running = any(r.status == "running" for r in last_runs) or bool(_running)
    return render_template("admin/status.html", last_runs=last_runs, recent=recent,
                           quarantine=quarantine, q_counts=q_counts, q_status=status,
                           steps=steps, running=running, running_here=sorted(_running))


@bp.route("/run/<step>", methods=["POST"])
@role_required("admin")
def run_step(step: str):  # noqa: ANN201
    """Start one pipeline step in a background thread (trigger="web") and come back."""
    if step not in _steps():
        abort(404)
    with _running_lock:
        if step in _running:
            flash(f"{step} is already running.", "warning")
            return redirect(url_for("admin.index"))
        _running.add(step)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    user = current_user().username
    thread = threading.Thread(target=_run_in_background, args=(app, step, user),
                              name=f"voc-web-{step}", daemon=True)
    thread.start()
    flash(f"Started {step}. This page refreshes until it finishes.", "success")
    return redirect(url_for("admin.index"))


def _run_in_background(app, step: str, user: str) -> None:  # noqa: ANN001
    from pipelines.context import StepContext
    from pipelines.runner import run_job

    try:
        with app.app_context():
            st = app.extensions["voc"]
            engine = st.engine if st.engine is not None else st.session_factory.kw.get("bind")
            ctx = StepContext(settings=st.settings, engine=engine,
                              session_factory=st.session_factory, trigger="web")
            log.info("web-triggered run of %s by user %s", step, user)
            run_job(step, ctx)
    except Exception:  # noqa: BLE001 - run_job records failures; this is the last resort
        log.exception("background run of %s failed", step)
    finally:
        with _running_lock:
            _running.discard(step)


def _steps() -> list[str]:
    try:
        from pipelines.steps import available_steps
    except ModuleNotFoundError:
        return []
    return available_steps()


# --- users -------------------------------------------------------------------

@bp.route("/users")
@role_required("admin")
def users():  # noqa: ANN201
    """Users, their roles and token counts."""
    session = get_session()
    return render_template("admin/users.html", users=accounts.list_users(session),
                           tokens=accounts.token_counts(session), roles=list(accounts.ROLE_LEVEL),
                           new_token=None)


@bp.route("/users", methods=["POST"])
@role_required("admin")
def create_user():  # noqa: ANN201
    """Create a user with a role."""
    session = get_session()
    try:
        accounts.create_user(session, (request.form.get("username") or "").strip(),
                             request.form.get("password") or "",
                             request.form.get("role") or "viewer", actor=current_user().username)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    session.commit()
    flash("User created.", "success")
    return redirect(url_for("admin.users"))


def _username(user_id: int) -> str:
    # URLs carry the numeric id, never the username (which may be an e-mail address).
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user.username


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required("admin")
def set_role(user_id: int):  # noqa: ANN201
    """Change a user's role or disable/enable them."""
    session = get_session()
    me = current_user()
    username = _username(user_id)
    try:
        if username == me.username:
            raise accounts.AccountError("you cannot change your own role or access")
        if request.form.get("active") in ("0", "1"):
            accounts.set_active(session, username, request.form["active"] == "1",
                                actor=me.username)
        else:
            accounts.set_role(session, username, request.form.get("role") or "",
                              actor=me.username)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    session.commit()
    flash("User updated.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/token", methods=["POST"])
@role_required("admin")
def issue_token(user_id: int):  # noqa: ANN201
    """Issue an API token; it is shown once on the resulting page."""
    session = get_session()
    username = _username(user_id)
    try:
        issued = accounts.issue_token(session, username, (request.form.get("name") or "web")[:100],
                                      actor=current_user().username)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    session.commit()
    # Rendered directly (not redirected) so the secret never sits in a URL or a flash cookie.
    return render_template("admin/users.html", users=accounts.list_users(session),
                           tokens=accounts.token_counts(session), roles=list(accounts.ROLE_LEVEL),
                           new_token=(username, issued.token))


