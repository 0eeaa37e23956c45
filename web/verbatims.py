"""Verbatim explorer: full-text search with filters, detail view, streamed CSV export."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator

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
from sqlalchemy import func, select

from voc import audit
from voc.insights.policies import topics_for_policy
from voc.models.feedback import Feedback, Source
from voc.models.topics import Topic
from voc.nlp.topics import curation
from web import search as vs
from web.auth import current_user, has_role, login_required, role_required
from web.db import get_session, get_settings
from web.options import filter_options

log = logging.getLogger(__name__)
bp = Blueprint("verbatims", __name__, url_prefix="/verbatims")
PAGE_SIZE = 25
CSV_COLUMNS = ("id", "source", "external_id", "created_at", "kind", "channel", "market",
               "language", "csat", "nps", "escalated", "resolved", "sla_breached",
               "product_area", "sentiment_label", "sentiment_score", "topic_id", "topic",
               "pain_quote", "text")


def parse_filters() -> tuple[vs.VerbatimFilters, str | None]:
    """Filters from the query string, or empty filters and an error message."""
    try:
        return vs.VerbatimFilters.from_args(request.args), None
    except vs.FilterError as exc:
        return vs.VerbatimFilters(), str(exc)


def policy_topic_ids(filters: vs.VerbatimFilters) -> list[int] | None:
    """Topic ids of the policy filter (None when no policy filter)."""
    if not filters.policy:
        return None
    return topics_for_policy(get_session(), filters.policy)


@bp.route("/")
@login_required
def search():  # noqa: ANN201
    """Search box, filters, highlighted results, keyset pages."""
    session, settings = get_session(), get_settings()
    filters, error = parse_filters()
    try:
        cursor = vs.Cursor.decode(request.args.get("after"))
    except vs.FilterError as exc:
        cursor, error = None, str(exc)
    page = vs.search_page(session, filters, tz=settings.timezone, cursor=cursor, limit=PAGE_SIZE,
                          topic_ids_for_policy=policy_topic_ids(filters))
    topic_ids = {f.topic_id for f in page.items if f.topic_id}
    if filters.topic_id:
        topic_ids.add(filters.topic_id)
    labels = _topic_labels(session, topic_ids)
    sources = dict(session.execute(select(Source.id, Source.name)).all())
    options = filter_options(session, settings)
    return render_template("verbatims/search.html", page=page, filters=filters, error=error,
                           labels=labels, sources=sources, options=options,
                           sentiments=vs.SENTIMENTS, highlight=vs.highlight,
                           args=filters.to_args(), first_page=cursor is None)


@bp.route("/<int:feedback_id>")
@login_required
def detail(feedback_id: int):  # noqa: ANN201
    """Every field of one item except the raw text; customer hash shortened."""
    session = get_session()
    f = session.get(Feedback, feedback_id)
    if f is None:
        abort(404)
    source = session.get(Source, f.source_id)
    topic = session.get(Topic, f.topic_id) if f.topic_id else None
    topics = []
    if has_role("analyst"):
        topics = list(session.execute(
            select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
            .where(Topic.status != "merged")
            .order_by(func.coalesce(Topic.curated_label, Topic.label)).limit(1000)))
    return render_template("verbatims/detail.html", f=f, source=source, topic=topic,
                           topics=topics, short_hash=vs.short_hash)


@bp.route("/<int:feedback_id>/move", methods=["POST"])
@role_required("analyst")
def move(feedback_id: int):  # noqa: ANN201
    """Move one item to another topic (locked: refits keep the analyst's choice)."""
    session = get_session()
    if session.get(Feedback, feedback_id) is None:
        abort(404)
    try:
        topic_id = int(request.form.get("topic_id") or 0)
    except ValueError:
        topic_id = 0
    if topic_id <= 0 or session.get(Topic, topic_id) is None:
        flash("Choose a topic.", "error")
        return redirect(url_for("verbatims.detail", feedback_id=feedback_id))
    try:
        curation.move_feedback(session, feedback_id, topic_id, current_user().username)
    except curation.CurationError as exc:  # e.g. the topic was merged meanwhile
        flash(str(exc), "error")
    else:
        session.commit()
        flash("Moved to the chosen topic.", "success")
    return redirect(url_for("verbatims.detail", feedback_id=feedback_id))


@bp.route("/export.csv")
@login_required
def export_csv():  # noqa: ANN201
    """The current selection as CSV, streamed in batches and recorded in the audit log."""
    session, settings = get_session(), get_settings()
    filters, error = parse_filters()
    if error:
        abort(400)
    user = current_user()
    audit.record(session, user.username, "export.csv", "verbatims", None,
                 filters=_audit_filters(filters))
    session.commit()
    log.info("verbatim export started user_id=%s", user.id)
    sources = dict(session.execute(select(Source.id, Source.name)).all())
    labels = _topic_labels(session, None)
    ids = policy_topic_ids(filters)

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_COLUMNS)
        n = 0
        for f in vs.iter_matches(session, filters, tz=settings.timezone,
                                 topic_ids_for_policy=ids):
            w.writerow([vs.csv_safe(v) for v in (
                f.id, sources.get(f.source_id), f.external_id, f.created_at, f.kind, f.channel,
                f.market, f.language, f.csat, f.nps, f.escalated, f.resolved, f.sla_breached,
                f.product_area, f.sentiment_label, f.sentiment_score, f.topic_id,
                labels.get(f.topic_id), f.pain_quote, f.text)])
            n += 1
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        log.info("verbatim export finished rows=%d", n)

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="verbatims.csv"',
                             "X-Accel-Buffering": "no"})


def _topic_labels(session, ids: set[int] | None) -> dict[int, str]:  # noqa: ANN001
    stmt = select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
    if ids is not None:
        if not ids:
            return {}
        stmt = stmt.where(Topic.id.in_(list(ids)))
    return dict(session.execute(stmt).all())


def _audit_filters(filters: vs.VerbatimFilters) -> dict[str, str]:
    # The search words are the user's own; record that a query was used, not what it was.
    args = filters.to_args()
    if "q" in args:
        args["q"] = "(text query)"
    return args
