"""Server-rendered inline SVG charts: sparklines, line charts and bar charts.

Every piece of text is escaped before it goes into the markup, so labels that
come from data (topic names, markets) are inert. Tooltips use SVG ``<title>``
(accessible, no script). Colours come from CSS classes in static/app.css.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape


def _num(v: float | None) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _fmt(v: float | None, fmt: str) -> str:
    if v is None:
        return "no data"
    if fmt == "pct":
        return f"{v * 100:.0f}%"
    if fmt == "int":
        return f"{v:,.0f}"
    return f"{v:.2f}"


def sparkline(values: Sequence[float | None], *, width: int = 96, height: int = 24,
              label: str = "trend") -> Markup:
    """A small trend line with the last point marked; gaps for missing values."""
    vals = [_num(v) for v in values]
    present = [v for v in vals if v is not None]
    if len(present) < 2:
        return Markup('<span class="muted">–</span>')
    lo, hi = min(present), max(present)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(vals) - 1, 1)
    pts = []
    for i, v in enumerate(vals):
        if v is None:
            continue
        x = 2 + i * step
        y = height - 3 - (v - lo) / span * (height - 6)
        pts.append((x, y))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    desc = f"{label}: " + ", ".join(_fmt(v, "int") for v in present[-12:])
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(desc)}"><title>{escape(desc)}</title>'
        f'<polyline class="spark-line" points="{path}"/>'
        f'<circle class="spark-dot" cx="{lx:.1f}" cy="{ly:.1f}" r="2.2"/></svg>'
    )


def line_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
               fmt: str = "int", width: int = 420, height: int = 190,
               baseline: float | None = None, y_min: float | None = None,
               y_max: float | None = None) -> Markup:
    """A labelled line chart with axes, gridlines, point tooltips and an optional baseline."""
    vals = [_num(v) for v in values]
    present = [v for v in vals if v is not None]
    if not present:
        return Markup(f'<p class="muted">No data for {escape(title.lower())}.</p>')
    ml, mr, mt, mb = 48, 12, 12, 28
    pw, ph = width - ml - mr, height - mt - mb
    lo = y_min if y_min is not None else min(0.0, min(present))
    hi = y_max if y_max is not None else max(present + ([baseline] if baseline else []))
    if hi <= lo:
        hi = lo + 1
    hi = hi * 1.05 if y_max is None else hi
    n = len(vals)
    step = pw / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return ml + i * step, mt + ph - (v - lo) / (hi - lo) * ph

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for k in range(5):  # gridlines and y labels
        v = lo + (hi - lo) * k / 4
        y = mt + ph - ph * k / 4
        parts.append(f'<line class="grid" x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(_fmt(v, fmt))}</text>')
    every = max(1, math.ceil(n / 8))
    for i, lab in enumerate(labels):
        if i % every == 0 or i == n - 1:
            x = ml + i * step
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 8}" text-anchor="middle">'
                         f'{escape(_short_week(lab))}</text>')
    if baseline is not None and lo <= baseline <= hi:
        _, by = xy(0, baseline)
        parts.append(f'<line class="baseline" x1="{ml}" x2="{ml + pw}" y1="{by:.1f}" '
                     f'y2="{by:.1f}"><title>baseline {escape(_fmt(baseline, fmt))}</title></line>')
    segs, cur = [], []
    for i, v in enumerate(vals):
        if v is None:
            if cur:
                segs.append(cur)
            cur = []
        else:
            cur.append(xy(i, v))
    if cur:
        segs.append(cur)
    for seg in segs:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
        parts.append(f'<polyline class="line" points="{pts}"/>')
    for i, v in enumerate(vals):
        if v is None:
            continue
        x, y = xy(i, v)
        tip = f"{labels[i]}: {_fmt(v, fmt)}"
        parts.append(f'<circle class="pt" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                     f'<title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, fmt: str = "int",
              width: int = 360, bar_h: int = 18, max_items: int = 12) -> Markup:
    """Horizontal bars with labels and values (e.g. volume by market)."""
    rows = [(str(k), _num(v) or 0.0) for k, v in items][:max_items]
    if not rows:
        return Markup(f'<p class="muted">No data for {escape(title.lower())}.</p>')
    hi = max(v for _, v in rows) or 1.0
    lw, vw = 110, 56
    bw = width - lw - vw
    height = len(rows) * (bar_h + 6) + 4
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (k, v) in enumerate(rows):
        y = 2 + i * (bar_h + 6)
        w = max(1.0, v / hi * bw)
        label = k if len(k) <= 16 else k[:15] + "…"
        tip = f"{k}: {_fmt(v, fmt)}"
        parts.append(f'<text class="axis" x="{lw - 6}" y="{y + bar_h - 5}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{lw}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3">'
                     f'<title>{escape(tip)}</title></rect>')
        parts.append(f'<text class="value" x="{lw + w + 6:.1f}" y="{y + bar_h - 5}">'
                     f'{escape(_fmt(v, fmt))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(value: float | None, *, width: int = 60, height: int = 8) -> Markup:
    """A tiny 0..1 meter (negative share) next to the number."""
    v = _num(value)
    if v is None:
        return Markup("")
    v = min(max(v, 0.0), 1.0)
    return Markup(
        f'<svg class="meter" width="{width}" height="{height}" aria-hidden="true">'
        f'<rect class="meter-bg" width="{width}" height="{height}" rx="4"/>'
        f'<rect class="meter-fg" width="{max(v * width, 1):.1f}" height="{height}" rx="4"/></svg>'
    )


def _short_week(label: str) -> str:
    # "2026-W07" -> "W07" keeps axes readable; other labels pass through.
    return label[5:] if len(label) == 8 and label[4:6] == "-W" else label
