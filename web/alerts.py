"""Alerts pages: subscriptions, in-app notifications, delivery log, no-login unsubscribe,
and the /api/v1 subscription endpoints.

Pages other areas can link to:
- ``url_for("alerts.new_subscription", topic=<id>)``: subscribe to a topic;
- ``url_for("alerts.new_subscription", scope_kind="search", q=..., market=...)``: save a
  verbatim search as an alert;
- ``url_for("alerts.notifications")``: the in-app list (nav badge:
  ``voc.alerts.store.unread_count(session, user_id)``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from voc.alerts import store
from voc.alerts.notifiers import notifier_types
from voc.alerts.subscriptions import (
    MASK,
    SubscriptionError,
    create_subscription,
    delete_subscription,
    describe,
    get_subscription,
    list_subscriptions,
    subscription_dict,
    subscription_fields,
    unsubscribe,
    update_subscription,
)
from voc.alerts.tokens import read_token
from voc.models.alerts import Notification, Subscription
from voc.models.topics import Topic
from web.api import api_auth_required, document, error_response, jsonable
from web.auth import current_user, has_role, login_required, public
from web.db import get_session, get_settings

log = logging.getLogger(__name__)
bp = Blueprint("alerts", __name__)

FLAGS = ("new", "surge", "sentiment_drop", "csat_drop")
SEARCH_KEYS = ("q", "market", "channel", "language", "sentiment", "csat", "topic")


# --- pages -----------------------------------------------------------------------------

@bp.route("/alerts/")
@login_required
def index():  # noqa: ANN201
    """The user's subscriptions and latest notifications."""
    session = get_session()
    user = current_user()
    subs = list_subscriptions(session, user.id)
    notes = store.list_notifications(session, user.id, limit=5)
    return render_template("alerts/index.html", subs=subs, describe=describe,
                           targets={s.id: subscription_dict(s)["targets"] for s in subs},
                           notes=notes, unread=store.unread_count(session, user.id))


def _form_defaults() -> dict[str, Any]:
    """A blank form, pre-filled from the query string (links from topic / verbatim pages)."""
    args = request.args
    kind = args.get("scope_kind") or "topics"
    search = {k: args.get(k, "") for k in SEARCH_KEYS} if kind == "search" else {}
    if kind == "search" and (args.get("csat_min") or args.get("csat_max")):
        # The verbatim explorer's CSAT range -> "min-max".
        lo, hi = args.get("csat_min") or "1", args.get("csat_max") or "5"
        search["csat"] = f"{lo}-{hi}"
    return {"name": "", "scope_kind": kind,
            "scope": {"topic_ids": [int(t) for t in args.getlist("topic") if t.isdigit()]
                      if kind != "search" else [], "search": search},
            "condition": {"type": "search" if kind == "search" else "emerging"},
            "targets": [{"type": "email", "config": {}}], "quiet_hours": 72,
            "include_in_digest": True}


def _from_form(form: Any) -> dict[str, Any]:
    """Subscription fields from the HTML form."""
    kind = form.get("scope_kind", "topics")
    split = [v.strip() for v in form.get("list_values", "").replace(";", ",").split(",")
             if v.strip()]
    scope: dict[str, Any] = {}
    if kind == "topics":
        scope["topic_ids"] = [int(v) for v in form.getlist("topic_ids") + split if
                              str(v).strip().isdigit()]
    elif kind == "policies":
        scope["policies"] = split
    elif kind == "markets":
        scope["markets"] = split
    elif kind == "search":
        scope["search"] = {k: form.get(f"search_{k}", "").strip() for k in SEARCH_KEYS}
    ctype = form.get("condition_type", "emerging")
    if kind == "search":
        ctype = "search"
    condition: dict[str, Any] = {"type": ctype}
    if ctype == "emerging":
        condition["flags"] = [f for f in form.getlist("flags") if f in FLAGS]
    elif ctype == "threshold":
        condition["metric"] = form.get("metric", "volume")
        condition["threshold"] = form.get("threshold", "").strip() or None
    else:
        condition["min_matches"] = form.get("min_matches", "1").strip() or "1"
    targets: list[dict[str, Any]] = []
    if form.get("t_email"):
        targets.append({"type": "email", "config": {"addresses": form.get("email_addresses",
                                                                          "")}})
    if form.get("t_webhook"):
        cfg = {"url": form.get("webhook_url", "")}
        if form.get("webhook_secret"):
            cfg["secret"] = form.get("webhook_secret")
        targets.append({"type": "webhook", "config": cfg})
    if form.get("t_in_app"):
        targets.append({"type": "in_app", "config": {}})
    return {"name": form.get("name", ""), "scope_kind": kind, "scope": scope,
            "condition": condition, "targets": targets,
            "quiet_hours": form.get("quiet_hours", "72"),
            "include_in_digest": bool(form.get("include_in_digest"))}


def _topic_choices(session) -> list[tuple[int, str]]:  # noqa: ANN001
    return [(tid, label) for tid, label in session.execute(
        select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
        .where(Topic.hidden.is_(False), Topic.status == "active")
        .order_by(Topic.size.desc(), Topic.id).limit(300))]


def _render_form(data: dict[str, Any], sub_id: int | None = None, error: str | None = None,
                 status: int = 200):  # noqa: ANN202
    session = get_session()
    email = next((t for t in data.get("targets", []) if t["type"] == "email"), None)
    hook = next((t for t in data.get("targets", []) if t["type"] == "webhook"), None)
    return render_template(
        "alerts/form.html", data=data, sub_id=sub_id, error=error, flags=FLAGS,
        topics=_topic_choices(session), search_keys=SEARCH_KEYS,
        email=email, hook=hook, in_app=any(t["type"] == "in_app"
                                           for t in data.get("targets", [])),
        user_email=current_user().email, mask=MASK), status


@bp.route("/alerts/subscriptions/new", methods=["GET", "POST"])
@login_required
def new_subscription():  # noqa: ANN201
    """Create a subscription (GET pre-fills from ?topic=ID or ?scope_kind=search&q=...)."""
    if request.method == "GET":
        return _render_form(_form_defaults())
    data = _from_form(request.form)
    session = get_session()
    try:
        sub = create_subscription(session, current_user().id, data,
                                  actor=current_user().username)
    except (SubscriptionError, ValueError) as exc:
        session.rollback()
        return _render_form(data, error=str(exc), status=400)
    session.commit()
    flash(f"Subscribed: {sub.name}.", "success")
    return redirect(url_for("alerts.index"))


@bp.route("/alerts/subscriptions/<int:sub_id>", methods=["GET", "POST"])
@login_required
def edit_subscription(sub_id: int):  # noqa: ANN201
    """Edit one of the user's subscriptions."""
    session = get_session()
    sub = get_subscription(session, sub_id, current_user().id)
    if sub is None:
        abort(404)
    if request.method == "GET":
        data = subscription_fields(sub)
        for t in data["targets"]:
            if t["type"] == "webhook" and t["config"].get("secret"):
                t["config"]["secret"] = MASK
        return _render_form(data, sub_id=sub.id)
    data = _from_form(request.form)
    try:
        update_subscription(session, sub, data, actor=current_user().username)
    except (SubscriptionError, ValueError) as exc:
        session.rollback()
        return _render_form(data, sub_id=sub_id, error=str(exc), status=400)
    session.commit()
    flash("Subscription saved.", "success")
    return redirect(url_for("alerts.index"))


@bp.route("/alerts/subscriptions/<int:sub_id>/toggle", methods=["POST"])
@login_required
def toggle_subscription(sub_id: int):  # noqa: ANN201
    """Pause or resume a subscription."""
    session = get_session()
    sub = get_subscription(session, sub_id, current_user().id)
    if sub is None:
        abort(404)
    sub.active = not sub.active
    session.commit()
    flash(f"Subscription {'resumed' if sub.active else 'paused'}.", "success")
    return redirect(url_for("alerts.index"))


@bp.route("/alerts/subscriptions/<int:sub_id>/delete", methods=["POST"])
@login_required
def remove_subscription(sub_id: int):  # noqa: ANN201
    """Delete a subscription."""
    session = get_session()
    sub = get_subscription(session, sub_id, current_user().id)
    if sub is None:
        abort(404)
    delete_subscription(session, sub, actor=current_user().username)
    session.commit()
    flash("Subscription deleted.", "success")
    return redirect(url_for("alerts.index"))


@bp.route("/alerts/notifications")
@login_required
def notifications():  # noqa: ANN201
    """In-app notifications, newest first."""
    session = get_session()
    user = current_user()
    notes = store.list_notifications(session, user.id, limit=200,
                                     unread_only=request.args.get("unread") == "1")
    return render_template("alerts/notifications.html", notes=notes,
                           unread=store.unread_count(session, user.id))


@bp.route("/alerts/notifications/<int:note_id>")
@login_required
def open_notification(note_id: int):  # noqa: ANN201
    """Mark a notification read and go to what it is about."""
    session = get_session()
    note = session.get(Notification, note_id)
    if note is None or note.user_id != current_user().id:
        abort(404)
    store.mark_read(session, note.user_id, [note.id])
    session.commit()
    target = note.url or url_for("alerts.notifications")
    base = get_settings().base_url.rstrip("/")
    # Stored links are absolute (for emails); stay on this site whatever base_url says.
    if target.startswith(base):
        target = target[len(base):] or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("alerts.notifications")
    return redirect(target)


@bp.route("/alerts/notifications/read", methods=["POST"])
@login_required
def read_all():  # noqa: ANN201
    """Mark all notifications read."""
    session = get_session()
    n = store.mark_read(session, current_user().id)
    session.commit()
    flash(f"{n} notification{'s' if n != 1 else ''} marked read.", "success")
    return redirect(url_for("alerts.notifications"))


@bp.route("/alerts/deliveries")
@login_required
def deliveries():  # noqa: ANN201
    """Delivery log: every message, its status, attempts and last error (admins: all)."""
    session = get_session()
    user = current_user()
    admin = has_role("admin")
    status = request.args.get("status") or None
    rows = store.recent_deliveries(session, 200, user_id=None if admin else user.id,
                                   status=status)
    attempts = {}
    shown = request.args.get("id", type=int)
    if shown and any(r["id"] == shown for r in rows):
        attempts[shown] = store.delivery_attempts(session, shown)
    return render_template("alerts/deliveries.html", rows=rows, admin=admin, status=status,
                           counts=store.delivery_counts(session) if admin else {},
                           attempts=attempts, shown=shown)


@bp.route("/alerts/deliveries/<int:delivery_id>/retry", methods=["POST"])
@login_required
def retry(delivery_id: int):  # noqa: ANN201
    """Queue a failed delivery again (admins); the next alerts run sends it."""
    if not has_role("admin"):
        abort(403)
    session = get_session()
    if store.retry_delivery(session, delivery_id):
        session.commit()
        flash("Queued again; it goes out with the next alerts run.", "success")
    else:
        flash("Only failed deliveries can be retried.", "warning")
    return redirect(url_for("alerts.deliveries"))


# --- unsubscribe (no login: the signed token is the authority) ---------------------------

@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
@public
def unsubscribe_page(token: str):  # noqa: ANN201
    """GET: confirm (mail scanners prefetch links); POST (with CSRF): unsubscribe."""
    settings = get_settings()
    target = read_token(settings, token)
    if target is None:
        return render_template("alerts/unsubscribe.html", state="invalid"), 400
    if request.method == "GET":
        return render_template("alerts/unsubscribe.html", state="confirm", token=token,
                               what=_what(target))
    session = get_session()
    what = unsubscribe(session, settings, token)
    session.commit()
    log.info("unsubscribed via link: %s %s", target.kind, target.id)
    return render_template("alerts/unsubscribe.html", state="done", what=what)


def _what(target: Any) -> str:
    if target.kind == "digest":
        return "the weekly digest"
    sub = get_session().get(Subscription, target.id)
    return f"alerts for “{sub.name}”" if sub else "a subscription that no longer exists"


@bp.route("/api/v1/unsubscribe/<token>", methods=["GET", "POST"])
@public
def one_click_unsubscribe(token: str):  # noqa: ANN201
    """RFC 8058 one-click unsubscribe (POST from mail clients); GET goes to the page."""
    if request.method == "GET":
        return redirect(url_for("alerts.unsubscribe_page", token=token))
    settings = get_settings()
    session = get_session()
    what = unsubscribe(session, settings, token)
    if what is None:
        return error_response(400, "bad_token", "this unsubscribe link is not valid")
    session.commit()
    return jsonify({"unsubscribed": what})


# --- JSON API ----------------------------------------------------------------------------

def _api_sub(sub_id: int):  # noqa: ANN202
    sub = get_subscription(get_session(), sub_id, current_user().id)
    if sub is None:
        abort(404)
    return sub


@bp.route("/api/v1/subscriptions", methods=["GET"])
@api_auth_required()
def api_list() -> Response:
    """The token user's subscriptions (secrets masked)."""
    subs = list_subscriptions(get_session(), current_user().id)
    return jsonify({"items": jsonable([subscription_dict(s) for s in subs])})


@bp.route("/api/v1/subscriptions", methods=["POST"])
@api_auth_required()
def api_create() -> Response:
    """Create a subscription from JSON (same fields as the form; validated)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error_response(400, "bad_request", "send a JSON object")
    session = get_session()
    try:
        sub = create_subscription(session, current_user().id, data,
                                  actor=current_user().username)
    except SubscriptionError as exc:
        session.rollback()
        return error_response(422, "invalid", str(exc))
    session.commit()
    resp = jsonify(jsonable(subscription_dict(sub)))
    resp.status_code = 201
    resp.headers["Location"] = url_for("alerts.api_get", sub_id=sub.id)
    return resp


@bp.route("/api/v1/subscriptions/<int:sub_id>", methods=["GET"])
@api_auth_required()
def api_get(sub_id: int) -> Response:
    """One subscription."""
    return jsonify(jsonable(subscription_dict(_api_sub(sub_id))))


@bp.route("/api/v1/subscriptions/<int:sub_id>", methods=["PATCH", "PUT"])
@api_auth_required()
def api_update(sub_id: int) -> Response:
    """Change fields of a subscription (masked secrets keep their stored value)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error_response(400, "bad_request", "send a JSON object")
    session = get_session()
    sub = _api_sub(sub_id)
    try:
        update_subscription(session, sub, data, actor=current_user().username)
    except SubscriptionError as exc:
        session.rollback()
        return error_response(422, "invalid", str(exc))
    session.commit()
    return jsonify(jsonable(subscription_dict(sub)))


@bp.route("/api/v1/subscriptions/<int:sub_id>", methods=["DELETE"])
@api_auth_required()
def api_delete(sub_id: int) -> Response:
    """Delete a subscription."""
    session = get_session()
    delete_subscription(session, _api_sub(sub_id), actor=current_user().username)
    session.commit()
    return Response(status=204)


@bp.route("/api/v1/notifications", methods=["GET"])
@api_auth_required()
def api_notifications() -> Response:
    """The token user's in-app notifications (newest first) and unread count."""
    session = get_session()
    user = current_user()
    notes = store.list_notifications(session, user.id, limit=100)
    return jsonify({"unread": store.unread_count(session, user.id), "items": jsonable([
        {"id": n.id, "title": n.title, "body": n.body, "url": n.url, "topic_id": n.topic_id,
         "week": n.week, "created_at": n.created_at, "read": n.read_at is not None,
         "examples": n.examples} for n in notes])})


@bp.route("/api/v1/notifier-types", methods=["GET"])
@api_auth_required()
def api_notifier_types() -> Response:
    """Delivery target types and their config schemas."""
    return jsonify(notifier_types())


_SUB_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"},
    "scope_kind": {"type": "string", "enum": ["all", "topics", "policies", "markets", "search"]},
    "scope": {"type": "object", "description": "topic_ids | policies | markets | search "
              "{q, market, channel, language, sentiment, csat, topic}"},
    "condition": {"type": "object", "description": "{type: emerging, flags} | {type: "
                  "threshold, metric, threshold} | {type: search, min_matches}"},
    "targets": {"type": "array", "items": {"type": "object"},
                "description": "[{type: email|webhook|in_app, config}] (see notifier-types)"},
    "quiet_hours": {"type": "integer"}, "include_in_digest": {"type": "boolean"}}}
_SEC = [{"bearerAuth": []}]
document("/api/v1/subscriptions", "get", {"summary": "List your subscriptions",
                                          "security": _SEC, "responses": {"200": {
                                              "description": "subscriptions"}}})
document("/api/v1/subscriptions", "post", {
    "summary": "Create a subscription", "security": _SEC,
    "requestBody": {"content": {"application/json": {"schema": _SUB_SCHEMA}}},
    "responses": {"201": {"description": "created"}, "422": {"description": "invalid"}}})
for _m, _s in (("get", "Get a subscription"), ("patch", "Change a subscription"),
               ("delete", "Delete a subscription")):
    document("/api/v1/subscriptions/{id}", _m, {
        "summary": _s, "security": _SEC,
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}, "404": {"description": "not found"}}})
document("/api/v1/notifications", "get", {"summary": "Your in-app notifications",
                                          "security": _SEC,
                                          "responses": {"200": {"description": "ok"}}})
document("/api/v1/notifier-types", "get", {"summary": "Delivery target types and schemas",
                                           "security": _SEC,
                                           "responses": {"200": {"description": "ok"}}})
document("/api/v1/unsubscribe/{token}", "post", {
    "summary": "One-click unsubscribe (RFC 8058); the signed token is the authority",
    "parameters": [{"name": "token", "in": "path", "required": True,
                    "schema": {"type": "string"}}],
    "responses": {"200": {"description": "unsubscribed"}, "400": {"description": "bad token"}}})
