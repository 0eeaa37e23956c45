"""Jinja filters and globals (number formats, charts, navigation) and error pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, render_template, request, url_for
from markupsafe import Markup, escape

from web import charts


def fmt_pct(v: Any, digits: int = 0) -> str:
    """0.237 -> '24%'; None -> '–'."""
    if v is None:
        return "–"
    try:
        return f"{float(v) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return "–"


def fmt_num(v: Any, digits: int = 0) -> str:
    """1234.5 -> '1,234' (or with digits)."""
    if v is None:
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return "–"


def fmt_change(v: Any) -> str:
    """Growth vs baseline as a signed percentage: 0.5 -> '+50%'."""
    if v is None:
        return "–"
    try:
        return f"{float(v) * 100:+.0f}%"
    except (TypeError, ValueError):
        return "–"


def fmt_dt(v: datetime | None, with_time: bool = True) -> str:
    """A datetime in the configured timezone."""
    if v is None:
        return "–"
    tz = ZoneInfo(current_app.config["VOC_SETTINGS"].timezone or "UTC")
    local = v.astimezone(tz) if v.tzinfo else v
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def rank_change_badge(change: Any) -> Markup:
    """↑3 / ↓2 / = / new, with words for screen readers."""
    if change is None or change == "new":
        return Markup('<span class="rc rc-new" title="new in the ranking">new</span>')
    try:
        n = int(change)
    except (TypeError, ValueError):
        return Markup(f'<span class="rc">{escape(change)}</span>')
    if n > 0:
        return Markup(f'<span class="rc rc-up" title="up {n} places">↑{n}</span>')
    if n < 0:
        return Markup(f'<span class="rc rc-down" title="down {-n} places">↓{-n}</span>')
    return Markup('<span class="rc rc-same" title="same place">=</span>')


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    args = request.args.to_dict(flat=True)
    for k, v in changes.items():
        if v is None or v == "":
            args.pop(k, None)
        else:
            args[k] = v
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def nav_items() -> list[tuple[str, str, str]]:
    """(endpoint, label, required role) for the links the current app has (computed once)."""
    cached = current_app.config.get("VOC_NAV_ITEMS")
    if cached is None:
        cached = current_app.config["VOC_NAV_ITEMS"] = _nav_items()
    return cached


def _nav_items() -> list[tuple[str, str, str]]:
    bps = set(current_app.config.get("VOC_BLUEPRINTS", []))
    items = [("dashboard.ranking", "Ranking", "viewer"), ("topics.index", "Topics", "viewer"),
             ("verbatims.search", "Verbatims", "viewer")]
    optional = [("alerts", "Alerts", "viewer"), ("admin", "Pipeline", "admin"),
                ("compliance", "Compliance", "admin")]
    for bp, label, role in optional:
        if bp in bps:
            endpoint = _index_endpoint(bp)
            if endpoint:
                items.append((endpoint, label, role))
    return [i for i in items if i[0].split(".")[0] in bps]


def _index_endpoint(bp: str) -> str | None:
    # The blueprint's landing page: its "index" view, else its first GET view without arguments.
    rules = [r for r in current_app.url_map.iter_rules() if r.endpoint.startswith(bp + ".")
             and "GET" in (r.methods or ()) and not r.arguments and "/api/" not in r.rule]
    for r in rules:
        if r.endpoint == f"{bp}.index":
            return r.endpoint
    return sorted(rules, key=lambda r: len(r.rule))[0].endpoint if rules else None


def init_app(app: Flask) -> None:
    """Register filters, globals and HTML error pages."""
    from web.auth import current_user, has_role

    if app.testing:
        from web import caches

        # Tests change data between requests; per-process caches must not hide that.
        app.before_request(caches.clear_all)

    app.jinja_env.filters.update(pct=fmt_pct, num=fmt_num, change=fmt_change, dt=fmt_dt)
    app.jinja_env.globals.update(
        current_user=current_user, has_role=has_role, url_with=url_with, nav_items=nav_items,
        sparkline=charts.sparkline, line_chart=charts.line_chart, bar_chart=charts.bar_chart,
        share_bar=charts.share_bar, rank_change=rank_change_badge,
    )

    def _error(code: int, message: str):  # noqa: ANN202
        def handler(_exc: Exception):  # noqa: ANN202
            if request.path.startswith("/api/"):
                from web.api import error_response

                names = {400: "bad_request", 401: "unauthorized", 403: "forbidden",
                         404: "not_found", 405: "method_not_allowed", 429: "rate_limited",
                         500: "internal_error"}
                return error_response(code, names.get(code, "error"), message)
            return render_template("errors/error.html", code=code, message=message), code
        return handler

    for code, message in ((400, "The request was not understood."),
                          (403, "You do not have access to this page."),
                          (404, "There is nothing here."),
                          (405, "That method is not allowed here."),
                          (500, "Something went wrong on our side. It has been logged.")):
        app.register_error_handler(code, _error(code, message))
