"""Pure helpers: charts escape their labels, rate parsing, Markdown cells."""

from __future__ import annotations

import pytest

from web import charts, ratelimit
from web.dashboard import _md


def test_charts_escape_labels_and_handle_gaps() -> None:
    svg = charts.bar_chart([("<script>x</script>", 3), ("DE", 1)], title="t<b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t&lt;b&gt;" in svg
    line = charts.line_chart(["2026-W01", "2026-W02", "2026-W03"], [1, None, 3],
                             title="Volume", baseline=2)
    assert line.count("<polyline") == 2  # a gap splits the line
    assert "W02" in line and "baseline" in line
    assert "No data" in charts.line_chart(["a"], [None], title="CSAT")
    assert "spark" in charts.sparkline([1, 2, 3]) and "–" in charts.sparkline([1])


def test_parse_rate() -> None:
    assert ratelimit.parse_rate("10 per minute") == (10, 60)
    assert ratelimit.parse_rate("5 per 15 minutes") == (5, 900)
    assert ratelimit.parse_rate("100/hour") == (100, 3600)
    with pytest.raises(ValueError):
        ratelimit.parse_rate("lots")


def test_markdown_cells_are_inert() -> None:
    assert _md("a|b\nc") == "a\\|b c"
    assert "<" not in _md("<img src=x onerror=alert(1)>")
    assert _md("[x](javascript:alert(1))").startswith("\\[x\\]")
