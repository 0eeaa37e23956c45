"""Growth in the weekly ranking is held to the standard of the surge flag."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voc.config import Settings
from voc.insights import emerging as em
from voc.insights import ranking
from voc.insights import weeks as wk
from voc.insights.sums import Sums

CFG = em.DetectionConfig(alpha=0.01, min_volume=10)
WEEKS = wk.previous_weeks("2026-W20", 8) + ["2026-W20"]


def _det(ratio: float, p: float | None, q: float | None = None) -> em.Detection:
    return em.Detection(ratio=ratio, expected=10.0, share_p=p, share_q=q)


def test_growth_of_an_established_surge_is_its_size() -> None:
    # q below alpha and enough volume: both bars of the surge flag passed, nothing discounted.
    assert ranking.growth_component(_det(3.0, 1e-6, 1e-4), 30, CFG) == pytest.approx(
        math.log2(3.0) / 2)
    assert ranking.growth_component(_det(8.0, 1e-9, 1e-7), 80, CFG) == 1.0  # capped


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_no_growth_without_a_rise(ratio: float) -> None:
    assert ranking.growth_component(_det(ratio, None, 1.0), 50, CFG) == 0.0


def test_small_volume_scales_growth_down_in_proportion() -> None:
    big = ranking.growth_component(_det(4.0, 1e-6, 1e-5), 10, CFG)
    small = ranking.growth_component(_det(4.0, 1e-6, 1e-5), 7, CFG)
    assert big == 1.0 and small == pytest.approx(0.7)


def test_confidence_comes_from_the_adjusted_p_value() -> None:
    # Raw p = 0.004 looks significant; among 100 topics (q = 0.4) it is what chance gives.
    raw = ranking.growth_component(_det(4.0, 0.004), 30, CFG)
    adjusted = ranking.growth_component(_det(4.0, 0.004, 0.4), 30, CFG)
    assert raw == pytest.approx(1.0)  # no q-value yet: the raw p-value is used
    assert adjusted == pytest.approx(math.log10(0.4) / math.log10(0.01))
    assert adjusted < 0.25


def _week_sums(rng: np.random.Generator, planted: dict[int, tuple[int, int]],
               n_noise: int) -> tuple[dict, dict]:
    """Sums for ``n_noise`` steady topics plus ``planted`` {topic: (weekly base, last week)}."""
    sums: dict[tuple, Sums] = {}
    totals: dict[tuple, Sums] = {}
    for i, w in enumerate(WEEKS):
        last = i == len(WEEKS) - 1
        volume = 0
        for tid in range(n_noise):
            v = int(rng.poisson(4 + tid % 20))
            sums[(w, tid, "DE")] = Sums(volume=v, sent_n=v, neg_n=v // 5)
            volume += v
        for tid, (base, now) in planted.items():
            v = now if last else base
            sums[(w, tid, "DE")] = Sums(volume=v, sent_n=v, neg_n=v // 5)
            volume += v
        totals[(w, "DE")] = Sums(volume=volume)
    return sums, totals


def test_tiny_jump_ranks_below_an_established_surge_and_says_why() -> None:
    """A 1 -> 7 jump (huge ratio, 7 items) used to outrank a real 2.5x surge of 100 items."""
    surge, tiny = 1000, 1001
    sums, totals = _week_sums(np.random.default_rng(1), {surge: (40, 100), tiny: (1, 7)}, 200)
    items = ranking.rank_units(sums, totals, lambda t: [t], WEEKS, Settings())
    by_unit = {it["unit"]: it for it in items}
    s, t = by_unit[surge], by_unit[tiny]
    assert s["flags"] == ["surge"] and t["flags"] == []
    assert s["components"]["growth"] > t["components"]["growth"]
    assert items.index(s) < items.index(t)
    assert items[0]["unit"] == surge
    # Its growth still counts in part, and the reasons say how much and why it is no surge.
    assert 0 < t["components"]["growth"] <= 0.7
    assert any(r.startswith("volume ") and "too few items to call a surge (under 10)" in r
               for r in t["reasons"]), t["reasons"]
    assert not any("too few" in r for r in s["reasons"])


@pytest.mark.parametrize(("base", "now", "why"), [
    (1, 7, "too few items to call a surge (under 10)"),
    (10, 24, "could be chance among the week's {n} topics"),
    (300, 430, "below the 1.5x surge threshold"),
])
def test_unflagged_growth_is_explained(base: int, now: int, why: str) -> None:
    """Growth that scores without a surge flag is named in the reasons, with the bar it
    missed, so the dashboard's "why" accounts for the score."""
    planted = 2000
    sums, totals = _week_sums(np.random.default_rng(0), {planted: (base, now)}, 200)
    items = ranking.rank_units(sums, totals, lambda t: [t], WEEKS, Settings())
    it = next(i for i in items if i["unit"] == planted)
    assert it["flags"] == [] and it["components"]["growth"] >= ranking.GROWTH_REASON_MIN
    ratio = it["volume"] / it["baseline"]
    assert it["reasons"][-1] == (f"volume {ratio:.1f}x baseline ({now} vs "
                                 f"{it['baseline']:.0f} expected), "
                                 + why.format(n=len(items)))
