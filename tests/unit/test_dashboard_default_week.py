"""The ranking page opens on the newest complete week, not the one in progress."""

from __future__ import annotations

from datetime import UTC, datetime

from voc import config
from voc.insights.weeks import iso_week, shift_week
from web.dashboard import default_week


def test_default_week_skips_the_week_in_progress() -> None:
    settings = config.load({})
    current = iso_week(datetime.now(UTC), settings.timezone)
    last = shift_week(current, -1)
    assert default_week([current, last], settings) == last
    assert default_week([last, shift_week(current, -2)], settings) == last
    assert default_week([current], settings) == current  # nothing complete yet
    assert default_week([], settings) is None
