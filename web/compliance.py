"""Compliance pages (admins): audit log + CSV export, quarantine fix/discard, erasure.

HTML pages live under ``/admin/compliance``; the erasure API call is
``POST /api/v1/admin/erasure`` (bearer token of an admin). The library work is
in :mod:`voc.compliance`; this module only parses requests and renders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from voc import audit
from voc.compliance import quarantine as q
from voc.compliance.audit_export import AuditFilter, distinct_actions, iter_csv, query_entries
from voc.compliance.erasure import ErasureError, erase_customer
from voc.compliance.retention import kind_cutoffs
from voc.models.base import utcnow
from web.auth import current_user, role_required
from web.db import get_session, get_settings

bp = Blueprint("compliance", __name__)
PAGE_SIZE = 100


def _actor() -> str:
    user = current_user()
    return user.username if user is not None else "unknown"


# --- overview --------------------------------------------------------------------------


@bp.route("/admin/compliance")
@role_required("admin")
def index():  # noqa: ANN201
    """Overview: retention policy in force, quarantine counts, recent audit entries."""
    settings = get_settings()
    session = get_session()
    now = utcnow()
    cutoffs = kind_cutoffs(settings, now)
    return render_template(
        "compliance/index.html", retention=settings.retention_days, cutoffs=cutoffs,
        raw_days=settings.raw_text_retention_days,
        quarantine_days=settings.quarantine_retention_days,
        q_counts=q.counts_by_status(session),
        recent=query_entries(session, AuditFilter(), limit=10),
        production=settings.is_production, key_set=bool(settings.pseudonym_key))


# --- audit log -------------------------------------------------------------------------


def _audit_filter() -> AuditFilter:
    args = request.args
    until = _parse_date(args.get("until"), "until")
    return AuditFilter(since=_parse_date(args.get("since"), "since"),
                       until=until + timedelta(days=1) if until else None,  # inclusive day
                       actor=(args.get("actor") or "").strip() or None,
                       action=(args.get("action") or "").strip() or None)


def _parse_date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        abort(400, description=f"{name}: expected a date like 2026-11-01")
    return day.replace(tzinfo=UTC)


@bp.route("/admin/audit")
@role_required("admin")
def audit_log():  # noqa: ANN201
    """The audit log with filters (actor, action prefix, date range) and paging."""
    session = get_session()
    filters = _audit_filter()
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    entries = query_entries(session, filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template("compliance/audit.html", entries=entries[:PAGE_SIZE], page=page,
                           has_next=len(entries) > PAGE_SIZE, actions=distinct_actions(session),
                           args=request.args)


@bp.route("/admin/audit.csv")
@role_required("admin")
def audit_csv() -> Response:
    """CSV export of the filtered audit log; the export is itself audited first."""
    session = get_session()
    filters = _audit_filter()
    audit.record(session, _actor(), "audit.export", "audit_log", None, format="csv",
                 **{f"filter_{k}": request.args[k][:100] for k in ("since", "until", "actor",
                                                                   "action")
                    if request.args.get(k)})
    session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(iter_csv(session, filters)), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="voc-audit-{stamp}.csv"'})


# --- quarantine ------------------------------------------------------------------------


@bp.route("/admin/quarantine")
@role_required("admin")
def quarantine_list():  # noqa: ANN201
    """Quarantined rows by status, with fix / retry / discard actions."""
    status = request.args.get("status", "open")
    if status not in (*q.STATUSES, "all"):
        status = "open"
    source = (request.args.get("source") or "").strip() or None
    session = get_session()
    rows = q.list_entries(session, status=None if status == "all" else status, source=source,
                          limit=200)
    return render_template("compliance/quarantine.html", rows=rows, status=status,
                           source=source or "", counts=q.counts_by_status(session))


@bp.route("/admin/quarantine/<int:qid>", methods=["GET", "POST"])
@role_required("admin")
def quarantine_edit(qid: int):  # noqa: ANN201
    """Edit a quarantined payload and re-ingest it through the import parser."""
    session = get_session()
    entry = session.get(q.Quarantine, qid)
    if entry is None:
        abort(404)
    payload = entry.raw_payload
    error = None
    if request.method == "POST":
        payload = request.form.get("payload", "")
        result = q.fix_and_reingest(session, get_settings(), qid, payload, _actor())
        session.commit()
        if result.ok:
            flash(f"Row {qid} re-ingested: {result.message}.", "success")
            return redirect(url_for("compliance.quarantine_list"))
        error = result.message
        entry = session.get(q.Quarantine, qid)
    return render_template("compliance/quarantine_edit.html", entry=entry,
                           payload=_pretty(payload), error=error), (422 if error else 200)


@bp.route("/admin/quarantine/action", methods=["POST"])
@role_required("admin")
def quarantine_action():  # noqa: ANN201
    """Bulk action on selected rows: ``retry`` (unchanged payloads) or ``discard``."""
    action = request.form.get("action")
    try:
        ids = [int(i) for i in request.form.getlist("ids")]
    except ValueError:
        abort(400)
    if not ids:
        flash("Select at least one row.", "warning")
        return redirect(url_for("compliance.quarantine_list"))
    session = get_session()
    if action == "discard":
        n = q.discard(session, ids, _actor())
        session.commit()
        flash(f"Discarded {n} row(s); their payloads were deleted.", "success")
    elif action == "retry":
        results = q.retry(session, get_settings(), ids, _actor())
        session.commit()
        ok = sum(r.ok for r in results)
        flash(f"Re-ingested {ok} of {len(results)} row(s).", "success" if ok else "warning")
        for r in results:
            if not r.ok:
                flash(f"Row {r.quarantine_id}: {r.message}", "warning")
    else:
        abort(400)
    return redirect(url_for("compliance.quarantine_list"))


def _pretty(payload: str) -> str:
    import json

    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return payload


# --- erasure ---------------------------------------------------------------------------


@bp.route("/admin/erasure", methods=["GET", "POST"])
@role_required("admin")
def erasure():  # noqa: ANN201
    """Erase a customer's data: preview (dry run) first, then confirm."""
    report = None
    if request.method == "POST":
        customer_id = (request.form.get("customer_id") or "").strip()
        dry_run = request.form.get("confirm") != "yes"
        session = get_session()
        try:
            report = erase_customer(session, get_settings(), customer_id, _actor(),
                                    dry_run=dry_run)
        except ErasureError as exc:
            flash(str(exc), "error")
            return render_template("compliance/erasure.html", report=None), 400
        if dry_run:
            session.rollback()
        else:
            session.commit()
            flash("Erasure done: the customer's data was removed and tombstoned.", "success")
        # The raw id is echoed only into the confirm form of the preview (never logged).
        return render_template("compliance/erasure.html", report=report,
                               customer_id=customer_id if dry_run else "")
    return render_template("compliance/erasure.html", report=None, customer_id="")


@bp.route("/api/v1/admin/erasure", methods=["POST"])
def api_erasure() -> Any:
    """``{"customer_id": "...", "dry_run": false}`` -> counts of what was removed."""
    return _api_erasure_view()


def _api_erasure() -> Response:
    from flask import jsonify

    from web.api import error_response

    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("customer_id"), (str, int)):
        return error_response(400, "bad_request",
                              'send JSON {"customer_id": "...", "dry_run": false}')
    dry_run = bool(body.get("dry_run", False))
    session = get_session()
    try:
        report = erase_customer(session, get_settings(), str(body["customer_id"]), _actor(),
                                dry_run=dry_run)
    except ErasureError as exc:
        return error_response(400, "bad_request", str(exc))
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return jsonify({"erased": not dry_run, **report.counts()})


def _wrap_api() -> Any:
    """Protect the API view with web.api's bearer-token check (admin role)."""
    try:
        from web.api import api_auth_required, document
    except ImportError:  # pragma: no cover - the API module is part of the web base
        return lambda: abort(404)
    document("/api/v1/admin/erasure", "post", {
        "summary": "Erase all data of one customer (GDPR); admin only",
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["customer_id"],
            "properties": {"customer_id": {"type": "string"},
                           "dry_run": {"type": "boolean", "default": False}}}}}},
        "responses": {"200": {"description": "counts of removed rows per table"},
                      "400": {"description": "missing customer_id"},
                      "401": {"description": "no or bad token"},
                      "403": {"description": "not an admin"}},
    })
    return api_auth_required("admin")(_api_erasure)


_api_erasure_view = _wrap_api()
