"""Topic list, topic page (trends, breakdowns, quotes, lineage) and curation forms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights import weeks as wk
from voc.insights.policies import policies_for_topic
from voc.insights.rollups import load_sums, topic_resolver
from voc.insights.topic_stats import topic_drivers, topic_trend
from voc.models.feedback import Feedback
from voc.models.topics import Topic
from voc.nlp.topics import curation
from voc.nlp.topics import service as topic_service
from web.auth import current_user, has_role, login_required, role_required
from web.db import get_session, get_settings
from web.rankings import available_weeks, ranking_item
from web.search import EXPIRED_TEXT

bp = Blueprint("topics", __name__, url_prefix="/topics")
MAX_LABEL = 200


@bp.route("/")
@login_required
def index():  # noqa: ANN201
    """All canonical topics with their size; analysts also see hidden and merged ones."""
    session = get_session()
    q = (request.args.get("q") or "").strip()[:100]
    show_all = request.args.get("all") == "1" and has_role("analyst")
    stmt = select(Topic)
    if not show_all:
        stmt = stmt.where(Topic.hidden.is_(False), Topic.status != "merged")
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(func.coalesce(Topic.curated_label, Topic.label)).like(like))
    topics = list(session.scalars(stmt.order_by(Topic.size.desc(), Topic.id).limit(500)))
    return render_template("topics/index.html", topics=topics, q=q, show_all=show_all)


@bp.route("/<int:topic_id>")
@login_required
def detail(topic_id: int):  # noqa: ANN201
    """Trend charts, breakdowns, keywords, quotes, policies, drivers and lineage of a topic."""
    session, settings = get_session(), get_settings()
    topic = session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    if topic.status == "merged" and topic.merged_into_id and not request.args.get("stay"):
        flash(f"“{topic.display_label}” was merged; showing the topic it was merged into.", "info")
        return redirect(url_for("topics.detail", topic_id=topic.merged_into_id,
                                week=request.args.get("week")))
    weeks = available_weeks(session, settings)
    week = request.args.get("week") or (weeks[0] if weeks else None)
    if week and week not in weeks:
        abort(404)
    trend = topic_trend(session, topic_id, weeks=12, end_week=week)
    labels = [r["week"] for r in trend]
    breakdown = topic_volume_split(session, topic_id, week)
    drivers = topic_drivers(session, topic_id, week) if week else {}
    policies = policies_for_topic(session, topic_id)
    examples = topic_examples(session, settings, topic_id, week, limit=5)
    quotes = list(session.scalars(
        select(Feedback).where(Feedback.topic_id == topic_id, Feedback.pain_quote.is_not(None),
                               Feedback.sentiment_label == "negative")
        .order_by(Feedback.created_at.desc()).limit(5)))
    merged_from = list(session.scalars(select(Topic).where(Topic.merged_into_id == topic_id)))
    item = ranking_item(session, settings, week, topic_id) if week else None
    others = []
    if has_role("analyst"):
        others = list(session.execute(
            select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
            .where(Topic.id != topic_id, Topic.status != "merged")
            .order_by(func.coalesce(Topic.curated_label, Topic.label)).limit(1000)))
    lineage = _lineage(topic.lineage)
    related_ids = {e["topic_id"] for e in lineage if isinstance(e.get("topic_id"), int)}
    # Lineage and curation events (who renamed, merged, hid), newest first.
    history = curation.topic_events(session, topic_id, limit=20) if has_role("analyst") else []
    related_ids |= {e.related_topic_id for e in history if e.related_topic_id}
    related = dict(session.execute(
        select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
        .where(Topic.id.in_(related_ids))).all()) if related_ids else {}
    return render_template(
        "topics/detail.html", topic=topic, week=week, weeks=weeks, trend=trend, labels=labels,
        breakdown=breakdown, drivers=drivers, policies=policies, examples=examples,
        quotes=quotes, merged_from=merged_from, item=item, others=others,
        lineage=lineage, history=history, related=related)


def topic_volume_split(session: Session, topic_id: int,
                       week: str | None) -> dict[str, list[tuple[str, float]]]:
    """A topic's volume in ``week`` by market and by channel, largest first (stored rollups).

    Only the two splits the page and the API show: ``topic_stats.topic_breakdown`` also
    computes kinds and per-dimension totals, three times the queries.
    """
    out: dict[str, list[tuple[str, float]]] = {"markets": [], "channels": []}
    if not week:
        return out
    members = topic_resolver(session).members(topic_id)
    for key, dim in (("markets", "market"), ("channels", "channel")):
        sums = load_sums(session, [week], (dim,), topic_ids=members)
        out[key] = sorted(((value or "unknown", float(s.volume))
                           for (value,), s in sums.items() if s.volume),
                          key=lambda kv: (-kv[1], kv[0]))
    return out


def topic_examples(session: Session, settings: Settings, topic_id: int, week: str | None,
                   limit: int = 5) -> list[Feedback]:
    """Representative items of a topic in ``week`` (all time when None): those closest to
    its centroid, else the newest. Items without an embedding (deleted with expired text,
    pending after a changed text) cannot be ranked by closeness."""
    items = topic_service.topic_examples(session, topic_id, week=week, limit=limit,
                                         tz=settings.timezone)
    if items:
        return items
    stmt = select(Feedback).where(Feedback.topic_id == topic_id, Feedback.text != EXPIRED_TEXT)
    if week:
        start, end = wk.week_bounds(week, settings.timezone)
        stmt = stmt.where(Feedback.created_at >= start, Feedback.created_at < end)
    return list(session.scalars(stmt.order_by(Feedback.created_at.desc()).limit(limit)))


def _lineage(entries: Any) -> list[dict[str, Any]]:
    out = []
    for e in entries or []:
        if isinstance(e, dict):
            out.append(e)
        else:
            out.append({"event": str(e)})
    return out


# --- curation (analyst) ------------------------------------------------------

def _back(topic_id: int):  # noqa: ANN202
    return redirect(url_for("topics.detail", topic_id=topic_id, week=request.form.get("week")
                            or None, stay=1 if request.form.get("stay") else None))


@bp.route("/<int:topic_id>/rename", methods=["POST"])
@role_required("analyst")
def rename(topic_id: int):  # noqa: ANN201
    """Give a topic a curated label (kept across refits)."""
    label = " ".join((request.form.get("label") or "").split())[:MAX_LABEL]
    if not label:
        flash("The new name must not be empty.", "error")
        return _back(topic_id)
    session = get_session()
    _require_topic(session, topic_id)
    curation.rename_topic(session, topic_id, label, current_user().username)
    session.commit()
    flash("Topic renamed.", "success")
    return _back(topic_id)


@bp.route("/<int:topic_id>/merge", methods=["POST"])
@role_required("analyst")
def merge(topic_id: int):  # noqa: ANN201
    """Merge this topic into another one (its feedback moves there)."""
    try:
        target = int(request.form.get("target_id") or 0)
    except ValueError:
        target = 0
    if target <= 0 or target == topic_id:
        flash("Choose another topic to merge into.", "error")
        return _back(topic_id)
    session = get_session()
    _require_topic(session, topic_id)
    _require_topic(session, target)
    try:
        curation.merge_topics(session, [topic_id], target, current_user().username)
    except curation.CurationError as exc:  # e.g. the target was merged meanwhile
        flash(str(exc), "error")
        return _back(topic_id)
    session.commit()
    flash("Topics merged.", "success")
    return redirect(url_for("topics.detail", topic_id=target))


@bp.route("/<int:topic_id>/hide", methods=["POST"])
@role_required("analyst")
def hide(topic_id: int):  # noqa: ANN201
    """Hide (or show again) a topic in rankings and lists."""
    hidden = request.form.get("hidden", "1") == "1"
    session = get_session()
    _require_topic(session, topic_id)
    curation.hide_topic(session, topic_id, hidden, current_user().username)
    session.commit()
    flash("Topic hidden." if hidden else "Topic shown again.", "success")
    return _back(topic_id)


def _require_topic(session: Any, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    return topic
