"""Topic list, topic page (trends, breakdowns, quotes, lineage) and curation forms."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from voc.models.feedback import Feedback
from voc.models.topics import Topic
from web import insights_bridge as ib
from web.auth import current_user, has_role, login_required, role_required
from web.db import get_session, get_settings

log = logging.getLogger(__name__)
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
    weeks = ib.available_weeks(session, settings)
    week = request.args.get("week") or (weeks[0] if weeks else None)
    if week and weeks and week not in weeks:
        abort(404)
    trend = ib.topic_trend(session, settings, topic_id, week, weeks=12)
    labels = [str(r.get("week", "")) for r in trend]
    breakdown = ib.topic_breakdown(session, settings, topic_id, week)
    drivers = ib.topic_drivers(session, topic_id, week)
    policies = ib.policies_for_topic(session, topic_id)
    examples = ib.topic_examples(session, topic_id, week, limit=5)
    quotes = list(session.scalars(
        select(Feedback).where(Feedback.topic_id == topic_id, Feedback.pain_quote.is_not(None),
                               Feedback.sentiment_label == "negative")
        .order_by(Feedback.created_at.desc()).limit(5)))
    merged_from = list(session.scalars(select(Topic).where(Topic.merged_into_id == topic_id)))
    ranking_item = _ranking_item(session, settings, week, topic_id)
    others = []
    if has_role("analyst"):
        others = list(session.execute(
            select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
            .where(Topic.id != topic_id, Topic.status != "merged")
            .order_by(func.coalesce(Topic.curated_label, Topic.label)).limit(1000)))
    lineage = _lineage(topic.lineage)
    related_ids = {e["topic_id"] for e in lineage if isinstance(e.get("topic_id"), int)}
    history = _history(session, topic_id) if has_role("analyst") else []
    related_ids |= {e.related_topic_id for e in history if e.related_topic_id}
    related = dict(session.execute(
        select(Topic.id, func.coalesce(Topic.curated_label, Topic.label))
        .where(Topic.id.in_(related_ids))).all()) if related_ids else {}
    return render_template(
        "topics/detail.html", topic=topic, week=week, weeks=weeks, trend=trend, labels=labels,
        breakdown=breakdown, drivers=drivers, policies=policies, examples=examples,
        quotes=quotes, merged_from=merged_from, item=ranking_item, others=others,
        lineage=lineage, history=history, related=related)


def _ranking_item(session: Any, settings: Any, week: str | None, topic_id: int) -> dict | None:
    if not week:
        return None
    return ib.ranking_item(session, settings, week, topic_id)


def _history(session: Any, topic_id: int) -> list[Any]:
    """Lineage and curation events (who renamed, merged, hid), newest first."""
    mod = ib.curation()
    fn = getattr(mod, "topic_events", None) if mod else None
    if fn is None:
        return []
    try:
        return list(fn(session, topic_id, limit=20))
    except Exception as exc:  # noqa: BLE001 - history is secondary on the page
        log.warning("topic history unavailable: %s", exc)
        return []


def _lineage(entries: Any) -> list[dict[str, Any]]:
    out = []
    for e in entries or []:
        if isinstance(e, dict):
            out.append(e)
        else:
            out.append({"event": str(e)})
    return out


# --- curation (analyst) ------------------------------------------------------

def _curation_or_flash():  # noqa: ANN202
    mod = ib.curation()
    if mod is None:
        flash("Curation is not available: the topic registry is not installed.", "error")
    return mod


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
    mod = _curation_or_flash()
    if mod is not None:
        session = get_session()
        _require_topic(session, topic_id)
        mod.rename_topic(session, topic_id, label, current_user().username)
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
    mod = _curation_or_flash()
    if mod is None:
        return _back(topic_id)
    session = get_session()
    _require_topic(session, topic_id)
    _require_topic(session, target)
    mod.merge_topics(session, [topic_id], target, current_user().username)
    session.commit()
    flash("Topics merged.", "success")
    return redirect(url_for("topics.detail", topic_id=target))


@bp.route("/<int:topic_id>/hide", methods=["POST"])
@role_required("analyst")
def hide(topic_id: int):  # noqa: ANN201
    """Hide (or show again) a topic in rankings and lists."""
    hidden = request.form.get("hidden", "1") == "1"
    mod = _curation_or_flash()
    if mod is not None:
        session = get_session()
        _require_topic(session, topic_id)
        mod.hide_topic(session, topic_id, hidden, current_user().username)
        session.commit()
        flash("Topic hidden." if hidden else "Topic shown again.", "success")
    return _back(topic_id)


def _require_topic(session: Any, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    return topic
