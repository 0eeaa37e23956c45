"""ISO weeks in a timezone: year boundaries, DST, week 53, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voc.insights import weeks as wk


def test_iso_week_year_boundaries() -> None:
    # 2026-01-01 is a Thursday: ISO week 1 of 2026; 2027-01-01 (Friday) is 2026-W53.
    assert wk.iso_week(datetime(2026, 1, 1, 12, tzinfo=UTC)) == "2026-W01"
    assert wk.iso_week(datetime(2027, 1, 1, 12, tzinfo=UTC)) == "2026-W53"
    assert wk.iso_week(datetime(2024, 12, 30, tzinfo=UTC)) == "2025-W01"
    assert wk.iso_week(datetime(2026, 11, 20)) == "2026-W47"  # naive = UTC


def test_iso_week_in_timezone() -> None:
    sunday_late_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert wk.iso_week(sunday_late_utc, "UTC") == "2026-W47"
    assert wk.iso_week(sunday_late_utc, "Europe/Berlin") == "2026-W48"
    monday_early_utc = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Sunday evening in New York
    assert wk.iso_week(monday_early_utc, "America/New_York") == "2026-W47"


def test_week_bounds_utc_and_dst() -> None:
    start, end = wk.week_bounds("2026-W47", "UTC")
    assert start == datetime(2026, 11, 16, tzinfo=UTC) and end - start == timedelta(days=7)
    # Berlin: midnight local is 23:00 UTC the day before (CET, UTC+1).
    start, end = wk.week_bounds("2026-W47", "Europe/Berlin")
    assert start == datetime(2026, 11, 15, 23, tzinfo=UTC)
    # The week with the October DST change (clocks go back on 2026-10-25) lasts 169 hours.
    start, end = wk.week_bounds("2026-W43", "Europe/Berlin")
    assert end - start == timedelta(hours=169)
    # Every instant of a week maps back to that week.
    for h in (0, 1, 100, 168):
        assert wk.iso_week(start + timedelta(hours=h), "Europe/Berlin") == "2026-W43"


def test_previous_and_range() -> None:
    assert wk.previous_weeks("2026-W02", 3) == ["2025-W51", "2025-W52", "2026-W01"]
    assert wk.previous_weeks("2027-W01", 1) == ["2026-W53"]
    assert wk.previous_weeks("2026-W10", 0) == []
    assert wk.week_range("2026-W52", "2027-W02") == ["2026-W52", "2026-W53", "2027-W01",
                                                     "2027-W02"]
    assert wk.week_range("2026-W05", "2026-W01") == []
    assert wk.shift_week("2026-W53", 1) == "2027-W01"


@pytest.mark.parametrize("bad", ["2026-47", "2026-W54", "2025-W53", "W47", "", "2026-w7"])
def test_bad_weeks_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid ISO week"):
        wk.parse_week(bad)
