"""Drivers arithmetic and additive sums."""

from __future__ import annotations

import pytest

from voc.insights.drivers import automation_opportunity, csat_impact, drivers
from voc.insights.sums import Sums


def _csat(values: list[int], **kw) -> Sums:  # noqa: ANN003
    return Sums(volume=len(values), csat_n=len(values), csat_sum=float(sum(values)),
                csat_sumsq=float(sum(v * v for v in values)), **kw)


def test_csat_impact() -> None:
    topic = _csat([1, 1, 2, 2])  # mean 1.5
    rest = _csat([5, 4, 4, 5, 4, 5])  # mean 4.5
    overall = Sums().add(topic).add(rest)  # 10 responses, mean (6 + 27) / 10 = 3.3
    assert overall.csat == pytest.approx(3.3)
    assert csat_impact(topic, overall) == pytest.approx(4.5 - 3.3)
    assert csat_impact(rest, overall) == pytest.approx(1.5 - 3.3)  # a "good" topic: negative
    assert csat_impact(Sums(volume=3), overall) is None  # no responses
    assert csat_impact(topic, topic) is None  # nothing left without it


def test_automation_opportunity() -> None:
    t = Sums(volume=200, esc_base=80, esc_n=20)  # 25% of bot conversations handed over
    assert automation_opportunity(t) == pytest.approx(200 * 0.25)
    assert automation_opportunity(Sums(volume=50)) == 0.0  # no bot traffic
    d = drivers(t, Sums(volume=1000))
    assert d["automation_opportunity"] == 50.0 and d["escalation_rate"] == 0.25
    assert d["csat_impact"] is None


def test_sums_rates_and_variance() -> None:
    s = _csat([1, 2, 3, 4, 5], sent_n=4, neg_n=1, res_base=5, res_n=4, sla_base=2, sla_n=1)
    assert s.csat == 3 and s.csat_var == pytest.approx(2.5)
    assert s.negative_share == 0.25 and s.resolution_rate == 0.8 and s.sla_breach_rate == 0.5
    assert Sums().negative_share is None and Sums().csat is None
