"""JSON API under /api/v1 with bearer-token authentication and an OpenAPI 3 document.

Extension points for other areas (e.g. web/alerts.py adds subscription endpoints):

- ``api_auth_required(role="viewer")``: decorator; 401 without a valid token, 403 when the
  role is too low. Every view under ``/api/`` must use it (the login redirect and CSRF
  checks of the HTML pages do not apply there: API calls never use the session cookie).
- ``error_response(status, code, message)``: the one error body, ``{"error": {"code", "message"}}``.
- ``document(path, method, operation)``: add an operation to ``/api/v1/openapi.json``.
- ``page_args()`` / ``page_links(...)``: page+limit pagination with a ``next`` link.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import func, select

from voc import accounts
from voc.insights import weeks as wk
from voc.insights.policies import load_policy_ranking, policies_for_topic, topics_for_policy
from voc.insights.topic_stats import topic_drivers, topic_trend
from voc.models.base import utcnow
from voc.models.feedback import Feedback, Source
from voc.models.topics import Topic
from voc.nlp.topics import curation
from web import search as vs
from web.auth import current_user, public, set_request_user
from web.db import get_session, get_settings
from web.rankings import available_weeks, load_ranking
from web.topics import topic_examples, topic_volume_split

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
_TOKEN_TOUCH_EVERY = timedelta(minutes=5)


# --- helpers other areas import ------------------------------------------------

def error_response(status: int, code: str, message: str) -> Response:
    """``{"error": {"code": code, "message": message}}`` with ``status``."""
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="voc"'
    return resp


class ApiError(Exception):
    """Raise inside an API view to answer with :func:`error_response`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def api_auth_required(role: str = "viewer") -> Callable[[F], F]:
    """Require ``Authorization: Bearer <token>`` of a user with at least ``role``."""
    if role not in accounts.ROLE_LEVEL:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error_response(401, "unauthorized",
                                      "send an API token: Authorization: Bearer <token>")
            session = get_session()
            found = accounts.user_for_token(session, token.strip())
            if found is None:
                return error_response(401, "unauthorized", "the token is invalid or revoked")
            user, row = found
            now = utcnow()
            # Touch last_used_at at most every few minutes: no write on every call.
            if row.last_used_at is None or now - row.last_used_at > _TOKEN_TOUCH_EVERY:
                row.last_used_at = now
                session.commit()
            set_request_user(user)
            if not accounts.has_role(user.role, role):
                return error_response(403, "forbidden", f"this needs the {role} role")
            return view(*args, **kwargs)
        wrapped._voc_public = True  # type: ignore[attr-defined]  # auth is the token
        return wrapped  # type: ignore[return-value]
    return decorator


def page_args() -> tuple[int, int]:
    """``page`` (1-based) and ``limit`` (1..200) from the query string."""
    try:
        page = int(request.args.get("page", 1))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise ApiError(400, "bad_request", "page and limit must be whole numbers") from None
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "bad_request", f"page >= 1 and 1 <= limit <= {MAX_LIMIT}")
    return page, limit


def page_links(endpoint: str, page: int, limit: int, total: int, **params: Any) -> dict[str, Any]:
    """Pagination block: page, limit, total, pages, next/prev URLs (None at the ends)."""
    pages = max(1, math.ceil(total / limit))
    clean = {k: v for k, v in params.items() if v not in (None, "")}

    def link(p: int) -> str:
        return url_for(endpoint, page=p, limit=limit, **clean)

    return {"page": page, "limit": limit, "total": total, "pages": pages,
            "next": link(page + 1) if page < pages else None,
            "prev": link(page - 1) if page > 1 else None}


_OPENAPI_EXTRA: dict[str, dict[str, Any]] = {}


def document(path: str, method: str, operation: dict[str, Any]) -> None:
    """Describe an endpoint in the OpenAPI document (``path`` like ``/api/v1/things/{id}``)."""
    _OPENAPI_EXTRA.setdefault(path, {})[method.lower()] = operation


def jsonable(value: Any) -> Any:
    """Dates as ISO strings, numpy scalars as numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


# --- endpoints ---------------------------------------------------------------

@bp.route("/me")
@api_auth_required()
def me() -> Response:
    """The token's user."""
    u = current_user()
    return jsonify({"username": u.username, "role": u.role})


@bp.route("/weeks")
@api_auth_required()
def weeks() -> Response:
    """Weeks with a ranking, newest first."""
    return jsonify({"weeks": available_weeks(get_session(), get_settings())})


@bp.route("/rankings")
@api_auth_required()
def rankings() -> Response:
    """The ranking of a week (default: the newest) with optional filters."""
    session, settings = get_session(), get_settings()
    weeks = available_weeks(session, settings)
    week = request.args.get("week") or next(iter(weeks), None)
    if week is None:
        raise ApiError(404, "not_found", "no weeks with data yet")
    if week not in weeks:
        raise ApiError(404, "not_found", f"no ranking for week {week}")
    try:
        limit = int(request.args["limit"]) if request.args.get("limit") else None
    except ValueError:
        raise ApiError(400, "bad_request", "limit must be a whole number") from None
    filters = {k: request.args.get(k) or None for k in ("market", "channel", "kind", "policy")}
    items = load_ranking(session, settings, week, limit=limit, with_examples=True, **filters)
    return jsonify(jsonable({"week": week, "filters": {k: v for k, v in filters.items() if v},
                             "items": items}))


@bp.route("/rankings/policies")
@api_auth_required()
def policy_rankings() -> Response:
    """Policies ranked for a week."""
    session, settings = get_session(), get_settings()
    week = request.args.get("week") or next(iter(available_weeks(session, settings)), None)
    if week is None:
        raise ApiError(404, "not_found", "no weeks with data yet")
    _check_week(week)
    return jsonify(jsonable({"week": week, "items": load_policy_ranking(session, week).items}))


@bp.route("/topics")
@api_auth_required()
def topics() -> Response:
    """Canonical topics, largest first, paginated."""
    session = get_session()
    page, limit = page_args()
    q = (request.args.get("q") or "").strip()[:100]
    include_hidden = request.args.get("include_hidden") in ("1", "true")
    stmt = select(Topic)
    if not include_hidden:
        stmt = stmt.where(Topic.hidden.is_(False), Topic.status != "merged")
    if q:
        stmt = stmt.where(func.lower(func.coalesce(Topic.curated_label, Topic.label))
                          .like(f"%{q.lower()}%"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Topic.size.desc(), Topic.id)
                           .offset((page - 1) * limit).limit(limit))
    return jsonify({"items": [_topic_json(t) for t in rows],
                    "pagination": page_links("api.topics", page, limit, total, q=q or None,
                                             include_hidden="1" if include_hidden else None)})


@bp.route("/topics/<int:topic_id>")
@api_auth_required()
def topic(topic_id: int) -> Response:
    """A topic with its trend, breakdown, drivers, policies and examples for a week."""
    session, settings = get_session(), get_settings()
    t = session.get(Topic, topic_id)
    if t is None:
        raise ApiError(404, "not_found", f"no topic {topic_id}")
    week = request.args.get("week") or next(iter(available_weeks(session, settings)), None)
    if week is not None:
        _check_week(week)
    breakdown = topic_volume_split(session, topic_id, week)
    examples = topic_examples(session, settings, topic_id, week, limit=5)
    return jsonify(jsonable({
        **_topic_json(t), "week": week,
        "trend": topic_trend(session, topic_id, weeks=12, end_week=week),
        "breakdown": {k: [{"key": a, "volume": b} for a, b in v] for k, v in breakdown.items()},
        "drivers": topic_drivers(session, topic_id, week) if week else {},
        "policies": policies_for_topic(session, topic_id),
        "examples": [_feedback_json(f, _sources(session)) for f in examples],
    }))


@bp.route("/topics/<int:topic_id>/rename", methods=["POST"])
@api_auth_required("analyst")
def topic_rename(topic_id: int) -> Response:
    """Rename a topic (analyst). Body: ``{"label": "..."}``."""
    body = request.get_json(silent=True) or {}
    label = " ".join(str(body.get("label") or "").split())[:200]
    if not label:
        raise ApiError(400, "bad_request", "label must not be empty")
    session = get_session()
    if session.get(Topic, topic_id) is None:
        raise ApiError(404, "not_found", f"no topic {topic_id}")
    curation.rename_topic(session, topic_id, label, current_user().username)
    session.commit()
    return jsonify(_topic_json(session.get(Topic, topic_id)))


@bp.route("/verbatims")
@api_auth_required()
def verbatims() -> Response:
    """Search verbatims (same filters as the explorer); cursor pagination, newest first."""
    session, settings = get_session(), get_settings()
    try:
        filters = vs.VerbatimFilters.from_args(request.args)
        cursor = vs.Cursor.decode(request.args.get("cursor"))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except (vs.FilterError, ValueError) as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "bad_request", f"1 <= limit <= {MAX_LIMIT}")
    ids = topics_for_policy(session, filters.policy) if filters.policy else None
    page = vs.search_page(session, filters, tz=settings.timezone, cursor=cursor, limit=limit,
                          topic_ids_for_policy=ids)
    sources = _sources(session)
    nxt = url_for("api.verbatims", cursor=page.next_cursor, limit=limit,
                  **filters.to_args()) if page.next_cursor else None
    return jsonify({"items": [_feedback_json(f, sources) for f in page.items],
                    "next_cursor": page.next_cursor, "next": nxt})


@bp.route("/verbatims/<int:feedback_id>")
@api_auth_required()
def verbatim(feedback_id: int) -> Response:
    """One verbatim with its metadata (never the raw text or the customer hash)."""
    session = get_session()
    f = session.get(Feedback, feedback_id)
    if f is None:
        raise ApiError(404, "not_found", f"no verbatim {feedback_id}")
    return jsonify(_feedback_json(f, _sources(session)))


@bp.route("/openapi.json")
@public
def openapi() -> Response:
    """The OpenAPI 3 document of this API (no data in it, so no token needed)."""
    from web.openapi import build_document

    return jsonify(build_document(_OPENAPI_EXTRA))


def _check_week(week: str) -> None:
    """400 for a ``week`` that is not an ISO week such as 2026-W47."""
    try:
        wk.parse_week(week)
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None


def _topic_json(t: Topic) -> dict[str, Any]:
    return jsonable({"id": t.id, "label": t.display_label, "generated_label": t.label,
                     "keywords": t.keywords or [], "size": t.size, "status": t.status,
                     "hidden": t.hidden, "merged_into_id": t.merged_into_id,
                     "first_seen": t.first_seen, "last_seen": t.last_seen,
                     "lineage": t.lineage or []})


def _feedback_json(f: Feedback, sources: dict[int, str]) -> dict[str, Any]:
    return jsonable({
        "id": f.id, "source": sources.get(f.source_id), "external_id": f.external_id,
        "created_at": f.created_at, "kind": f.kind, "channel": f.channel, "market": f.market,
        "language": f.language, "csat": f.csat, "nps": f.nps, "escalated": f.escalated,
        "resolved": f.resolved, "sla_breached": f.sla_breached, "product_area": f.product_area,
        "tags": f.tags or [], "sentiment": f.sentiment_label,
        "sentiment_score": f.sentiment_score, "topic_id": f.topic_id,
        "pain_quote": f.pain_quote, "text": f.text})


def _sources(session: Any) -> dict[int, str]:
    return dict(session.execute(select(Source.id, Source.name)).all())
