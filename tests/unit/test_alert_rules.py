"""Pure alert rules: scope, conditions, reasons, quiet period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voc.alerts.rules import (
    RuleError,
    evaluate,
    evaluate_search,
    rule_from_parts,
    should_fire,
)

ITEMS = [
    {"rank": 1, "topic_id": 7, "label": "card declined abroad", "volume": 120, "baseline": 30.0,
     "change": 3.0, "flags": ["surge"], "negative_share": 0.8, "csat": 2.1,
     "markets": ["DE", "FR"], "reasons": ["volume 120 vs 30 expected (x4.0)"]},
    {"rank": 2, "topic_id": 8, "label": "new app login loop", "volume": 40, "baseline": 0.0,
     "change": None, "flags": ["new"], "negative_share": 0.5, "csat": None,
     "markets": [{"market": "GB", "volume": 40}], "reasons": ["new topic this week"]},
    {"rank": 3, "topic_id": 9, "label": "delivery times", "volume": 60, "baseline": 55.0,
     "change": 0.09, "flags": [], "negative_share": 0.3, "csat": 3.9, "markets": {"US": 60},
     "reasons": []},
]


def test_topic_scope_emerging_any_flag_fires_with_reason() -> None:
    rule = rule_from_parts("topics", {"topic_ids": [7, 9]}, {"type": "emerging"})
    matches = evaluate(rule, ITEMS)
    assert [m.topic_id for m in matches] == [7]
    assert "surge" in matches[0].reason and "x4.0" in matches[0].reason
    assert matches[0].label == "card declined abroad"


def test_chosen_flags_only() -> None:
    rule = rule_from_parts("all", {}, {"type": "emerging", "flags": ["new"]})
    assert [m.topic_id for m in evaluate(rule, ITEMS)] == [8]


def test_threshold_on_negative_share_and_volume() -> None:
    neg = rule_from_parts("all", {}, {"type": "threshold", "metric": "negative_share",
                                      "threshold": 0.5})
    assert [m.topic_id for m in evaluate(neg, ITEMS)] == [7, 8]
    assert "80%" in evaluate(neg, ITEMS)[0].reason
    vol = rule_from_parts("all", {}, {"type": "threshold", "metric": "volume",
                                      "threshold": "60"})
    assert [m.topic_id for m in evaluate(vol, ITEMS)] == [7, 9]


def test_csat_threshold_fires_when_low_and_ignores_missing() -> None:
    rule = rule_from_parts("all", {}, {"type": "threshold", "metric": "csat", "threshold": 2.5})
    matches = evaluate(rule, ITEMS)
    assert [m.topic_id for m in matches] == [7]
    assert "below" in matches[0].reason


def test_market_scope_accepts_every_markets_shape() -> None:
    for market, expected in (("de", [7]), ("GB", [8]), ("US", [])):
        rule = rule_from_parts("markets", {"markets": [market]}, {"type": "emerging"})
        assert [m.topic_id for m in evaluate(rule, ITEMS)] == expected
    rule = rule_from_parts("markets", {"markets": ["US"]},
                           {"type": "threshold", "metric": "volume", "threshold": 1})
    assert [m.topic_id for m in evaluate(rule, ITEMS)] == [9]


def test_policy_scope_uses_mapping() -> None:
    rule = rule_from_parts("policies", {"policies": ["Fees & charges"]}, {"type": "emerging"})
    assert evaluate(rule, ITEMS) == []
    assert [m.topic_id for m in evaluate(rule, ITEMS, {8: ["Fees & charges"]})] == [8]


@pytest.mark.parametrize(("kind", "scope", "cond", "msg"), [
    ("topics", {}, {"type": "emerging"}, "at least one topic"),
    ("weird", {}, {"type": "emerging"}, "scope must be"),
    ("all", {}, {"type": "threshold", "metric": "volume"}, "numeric threshold"),
    ("all", {}, {"type": "threshold", "metric": "negative_share", "threshold": 40},
     "fraction"),
    ("all", {}, {"type": "threshold", "metric": "mood", "threshold": 1}, "metric"),
    ("search", {"search": {}}, {"type": "search"}, "query or at least one filter"),
    ("all", {}, {"type": "search"}, "saved-search"),
    ("topics", {"topic_ids": ["x"]}, {"type": "emerging"}, "integers"),
])
def test_invalid_rules_are_refused(kind: str, scope: dict, cond: dict, msg: str) -> None:
    with pytest.raises(RuleError, match=msg):
        rule_from_parts(kind, scope, cond)


def test_search_rule_min_matches() -> None:
    rule = rule_from_parts("search", {"search": {"q": "refund", "bogus": "x"}},
                           {"type": "search", "min_matches": 3})
    assert dict(rule.search) == {"q": "refund"}
    assert evaluate(rule, ITEMS) == []
    assert evaluate_search(rule, 2) is None
    assert evaluate_search(rule, 3) == "3 new verbatims match the saved search"


def test_quiet_period() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert should_fire(None, now, 72)
    assert not should_fire(now - timedelta(hours=71), now, 72)
    assert should_fire(now - timedelta(hours=72), now, 72)
    assert should_fire(now, now, 0)


def test_digest_due_moment_in_the_configured_timezone() -> None:
    from voc import config
    from voc.alerts.digest import digest_due_at, is_due

    s = config.load({}, timezone="Europe/Berlin", digest_weekday=2, digest_hour=8)
    # Wednesday 2026-11-18 08:00 Berlin = 07:00 UTC.
    assert digest_due_at(s, datetime(2026, 11, 17, 12, tzinfo=UTC)).astimezone(UTC) == \
        datetime(2026, 11, 18, 7, tzinfo=UTC)
    assert not is_due(s, datetime(2026, 11, 18, 6, 59, tzinfo=UTC))
    assert is_due(s, datetime(2026, 11, 18, 7, 0, tzinfo=UTC))
    assert is_due(s, datetime(2026, 11, 22, 22, 0, tzinfo=UTC))  # late in the week: catch up
    assert not is_due(s, datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # next week, before Wed
