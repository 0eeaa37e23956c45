"""The weekly ranking (forum view): the landing page, per-policy tab, CSV/Markdown export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from voc import audit
from voc.insights.policies import load_policy_ranking
from web.auth import current_user, login_required
from web.db import get_session, get_settings
from web.options import filter_options
from web.rankings import available_weeks, load_ranking
from web.search import csv_safe

bp = Blueprint("dashboard", __name__)

FILTER_KEYS = ("market", "channel", "kind", "policy")
KINDS = ("ticket", "survey", "review", "chat")
TOP_DEFAULT = 25


def ranking_state() -> dict[str, Any]:
    """Week, filters and tab from the query string (all page state lives in the URL)."""
    session, settings = get_session(), get_settings()
    weeks = available_weeks(session, settings)
    week = request.args.get("week") or default_week(weeks, settings)
    if week and week not in weeks:
        abort(404)
    filters = {k: (request.args.get(k) or "").strip()[:100] or None for k in FILTER_KEYS}
    if filters["market"]:
        filters["market"] = filters["market"].upper()[:2]
    if filters["kind"] and filters["kind"] not in KINDS:
        abort(400)
    tab = request.args.get("tab", "topics")
    return {"weeks": weeks, "week": week, "filters": filters,
            "tab": tab if tab in ("topics", "policies") else "topics"}


def default_week(weeks: list[str], settings: Any) -> str | None:
    """The newest complete week: the forum reviews finished weeks, not the one in progress."""
    if not weeks:
        return None
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from voc.insights.weeks import iso_week

    current = iso_week(datetime.now(UTC), ZoneInfo(settings.timezone))
    if weeks[0] == current and len(weeks) > 1:
        return weeks[1]
    return weeks[0]


def _items(state: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
    if not state["week"]:
        return []
    f = state["filters"]
    return load_ranking(get_session(), get_settings(), state["week"], market=f["market"],
                        channel=f["channel"], kind=f["kind"], policy=f["policy"], limit=limit)


@bp.route("/")
@login_required
def index():  # noqa: ANN201
    """The landing page is the ranking."""
    return redirect(url_for("dashboard.ranking", **request.args))


@bp.route("/ranking")
@login_required
def ranking():  # noqa: ANN201
    """Ranked topics of a week with filters, reasons and sparklines."""
    state = ranking_state()
    session = get_session()
    items = _items(state) if state["tab"] == "topics" else []
    # The forum discusses the top issues; the long tail is one click away.
    show_all = request.args.get("top") == "all"
    total = len(items)
    if not show_all:
        items = items[:TOP_DEFAULT]
    policy_items = load_policy_ranking(session, state["week"]).items \
        if state["week"] and state["tab"] == "policies" else []
    options = filter_options(session, get_settings())
    return render_template("dashboard/ranking.html", items=items, policy_items=policy_items,
                           options=options, kinds=KINDS, total=total, **state)


@bp.route("/ranking.csv")
@login_required
def ranking_csv():  # noqa: ANN201
    """The ranking as CSV (injection-safe cells), for the forum deck."""
    state = ranking_state()
    items = _items(state)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["rank", "rank_change", "topic_id", "label", "volume", "baseline", "change",
                "negative_share", "csat", "markets", "flags", "reasons"])
    for i in items:
        w.writerow([csv_safe(v) for v in (
            i.get("rank"), _rank_change_text(i.get("rank_change")), i.get("topic_id"),
            i.get("label"), i.get("volume"), _round(i.get("baseline")), _round(i.get("change")),
            _round(i.get("negative_share")), _round(i.get("csat")),
            " ".join(i.get("markets") or []), " ".join(i.get("flags") or []),
            " | ".join(i.get("reasons") or []))])
    _audit_export("ranking.csv", state, len(items))
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="ranking-{state["week"] or "none"}.csv"'})


@bp.route("/ranking.md")
@login_required
def ranking_md():  # noqa: ANN201
    """The ranking as a Markdown table to paste into the forum deck."""
    state = ranking_state()
    items = _items(state)
    f = {k: v for k, v in state["filters"].items() if v}
    scope = ", ".join(f"{k} {v}" for k, v in f.items()) or "all feedback"
    lines = [f"# Top customer issues, {state['week'] or 'no data'} ({_md(scope)})", "",
             "| # | Δ | Topic | Volume | vs baseline | Negative | CSAT | Markets | Flags |",
             "|---:|:---:|---|---:|---:|---:|---:|---|---|"]
    for i in items:
        lines.append("| " + " | ".join(_md(x) for x in (
            i.get("rank"), _rank_change_text(i.get("rank_change")), i.get("label"),
            i.get("volume"), _pct(i.get("change"), signed=True), _pct(i.get("negative_share")),
            f"{i['csat']:.2f}" if i.get("csat") is not None else "–",
            ", ".join(i.get("markets") or []), ", ".join(i.get("flags") or []))) + " |")
    lines.append("")
    for i in items:
        if i.get("reasons"):
            lines.append(f"- **{_md(i.get('label'))}**: " + "; ".join(_md(r) for r in i["reasons"]))
    _audit_export("ranking.md", state, len(items))
    return Response("\n".join(lines) + "\n", mimetype="text/markdown",
                    headers={"Content-Disposition":
                             f'attachment; filename="ranking-{state["week"] or "none"}.md"'})


def _audit_export(kind: str, state: dict[str, Any], n: int) -> None:
    session = get_session()
    user = current_user()
    audit.record(session, user.username if user else "?", "export.csv" if kind.endswith("csv")
                 else "export.md", "ranking", state["week"], format=kind, rows=n,
                 filters={k: v for k, v in state["filters"].items() if v})
    session.commit()


def _rank_change_text(v: Any) -> str:
    if v is None or v == "new":
        return "new"
    try:
        n = int(v)
    except (TypeError, ValueError):
        return str(v)
    return f"up {n}" if n > 0 else ("same" if n == 0 else f"down {-n}")


def _round(v: Any, digits: int = 3) -> Any:
    return round(v, digits) if isinstance(v, float) else v


def _pct(v: Any, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v * 100:+.0f}%" if signed else f"{v * 100:.0f}%"


def _md(v: Any) -> str:
    """Markdown-safe cell: no pipes/newlines, no HTML, no formula-like starts."""
    s = "–" if v is None else str(v)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    s = s.replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")
    return s
