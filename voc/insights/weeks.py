"""ISO weeks ("2026-W47") in the configured timezone.

A week runs from Monday 00:00 to the next Monday 00:00 *local time* in
``settings.timezone``; :func:`week_bounds` converts those instants to UTC so
that rollups can query ``created_at`` by range (portable across SQLite and
PostgreSQL, and index-friendly). Daylight-saving changes make some weeks 167
or 169 hours long; that is correct.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def _zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    return ZoneInfo(tz or "UTC")


def parse_week(week: str) -> tuple[int, int]:
    """``"2026-W47"`` -> ``(2026, 47)``; ValueError for anything else."""
    m = _WEEK_RE.match(week.strip()) if isinstance(week, str) else None
    if not m:
        raise ValueError(f"invalid ISO week {week!r}: expected YYYY-Www, e.g. 2026-W47")
    year, num = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, num, 1)
    except ValueError:
        raise ValueError(f"invalid ISO week {week!r}: {year} has no week {num}") from None
    return year, num


def format_week(year: int, num: int) -> str:
    """``(2026, 7)`` -> ``"2026-W07"``."""
    return f"{year:04d}-W{num:02d}"


def iso_week(dt: datetime, tz: str | ZoneInfo | None = "UTC") -> str:
    """The ISO week that ``dt`` falls in, seen from timezone ``tz`` (naive ``dt`` = UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    year, num, _ = dt.astimezone(_zone(tz)).isocalendar()
    return format_week(year, num)


def week_monday(week: str) -> date:
    """The local Monday that starts ``week``."""
    year, num = parse_week(week)
    return date.fromisocalendar(year, num, 1)


def week_bounds(week: str, tz: str | ZoneInfo | None = "UTC") -> tuple[datetime, datetime]:
    """``(start_utc, end_utc)`` of ``week``: local Monday 00:00 to the next, as aware UTC."""
    zone = _zone(tz)
    monday = week_monday(week)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def shift_week(week: str, delta: int) -> str:
    """The week ``delta`` weeks after (negative: before) ``week``."""
    d = week_monday(week) + timedelta(weeks=delta)
    year, num, _ = d.isocalendar()
    return format_week(year, num)


def previous_weeks(week: str, n: int) -> list[str]:
    """The ``n`` weeks immediately before ``week``, oldest first (``week`` excluded)."""
    return [shift_week(week, -k) for k in range(n, 0, -1)]


def week_range(first: str, last: str) -> list[str]:
    """All weeks from ``first`` to ``last`` inclusive, oldest first (empty if reversed)."""
    start, end = week_monday(first), week_monday(last)
    out = []
    while start <= end:
        y, w, _ = start.isocalendar()
        out.append(format_week(y, w))
        start += timedelta(weeks=1)
    return out
