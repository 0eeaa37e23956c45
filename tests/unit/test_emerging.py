"""Each flag fires on a planted pattern and stays quiet on noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from voc.insights import emerging as em
from voc.insights.sums import Sums

CFG = em.DetectionConfig(alpha=0.01, min_volume=10)
B = 8  # baseline weeks


def _week(volume: int, neg: int | None = None, sent: int | None = None,
          csat: list[float] | None = None) -> Sums:
    sent = volume if sent is None else sent
    neg = round(0.2 * sent) if neg is None else neg
    csat = csat or []
    return Sums(volume=volume, sent_n=sent, neg_n=neg, csat_n=len(csat),
                csat_sum=float(sum(csat)), csat_sumsq=float(sum(c * c for c in csat)))


def _series(vols: list[int], totals: list[int], **last) -> em.Series:  # noqa: ANN003
    weeks = [_week(v) for v in vols[:-1]] + [_week(vols[-1], **last)]
    return em.Series(topic=weeks, totals=totals)


def test_surge_fires_on_planted_share_increase() -> None:
    s = _series([20] * B + [60], [1000] * (B + 1))
    det = em.detect(s, {}, CFG)
    assert det.flags == ["surge"]
    d = det.details["surge"]
    assert d["observed"] == 60 and d["expected"] == pytest.approx(20, abs=0.5)
    assert d["p_value"] < 1e-6 and d["z"] > 3 and d["test"] == "beta-binomial"


def test_no_surge_when_everything_grows() -> None:
    # Twice the feedback overall this week: the topic's count doubles, its share does not.
    s = _series([20] * B + [40], [1000] * B + [2000])
    assert "surge" not in em.detect(s, {}, CFG).flags


def test_small_numbers_do_not_flag() -> None:
    s = _series([1, 2, 1, 0, 1, 2, 1, 1, 6], [1000] * (B + 1))  # 5x, but 6 items
    assert em.detect(s, {}, CFG).flags == []


@pytest.mark.parametrize(("concentration", "max_rate"), [(300, 0.03), (1000, 0.015)])
def test_overdispersed_noise_rarely_flags(concentration: int, max_rate: float) -> None:
    """Beta-distributed weekly shares (real-world wobble; 300 = a 1% topic's weekly share
    varies by +-57%): false surges stay near alpha (0.01) although the dispersion is
    estimated from only 8 weeks."""
    rng = np.random.default_rng(7)
    false = 0
    trials = 300
    for _ in range(trials):
        share = rng.uniform(0.01, 0.08)
        shares = rng.beta(share * concentration, (1 - share) * concentration, size=B + 1)
        totals = rng.integers(800, 1600, size=B + 1)
        vols = rng.binomial(totals, shares)
        s = _series(list(vols), list(totals))
        false += "surge" in em.detect(s, {}, CFG).flags
    assert false / trials <= max_rate, false


def test_new_topic() -> None:
    s = _series([0] * B + [25], [1000] * (B + 1))
    det = em.detect(s, {}, CFG)
    assert det.flags == ["new"]  # not also "surge"
    assert det.details["new"]["observed"] == 25 and det.details["new"]["weeks_seen"] == 1
    second_week = _series([0] * (B - 1) + [20, 25], [1000] * (B + 1))
    assert em.detect(second_week, {}, CFG).flags == ["new"]
    old = _series([0, 0, 5, 0, 0, 0, 0, 0, 25], [1000] * (B + 1))
    assert "new" not in em.detect(old, {}, CFG).flags
    tiny = _series([0] * B + [4], [1000] * (B + 1))
    assert em.detect(tiny, {}, CFG).flags == []


def test_sentiment_drop_at_stable_volume() -> None:
    s = _series([50] * B + [50], [1000] * (B + 1), neg=30)  # 20% -> 60% negative
    det = em.detect(s, {}, CFG)
    assert det.flags == ["sentiment_drop"]
    d = det.details["sentiment_drop"]
    assert d["observed"] == 0.6 and d["expected"] == pytest.approx(0.2, abs=0.01)
    assert d["p_value"] < 0.001
    noise = _series([50] * B + [50], [1000] * (B + 1), neg=14)  # 28%: within noise
    assert em.detect(noise, {}, CFG).flags == []


def test_csat_drop_at_stable_volume_and_not_on_wobble() -> None:
    rng = np.random.default_rng(3)
    base = [_week(40, csat=list(rng.choice([3, 4, 5], size=30))) for _ in range(B)]
    low = _week(40, csat=list(rng.choice([1, 2, 3], size=30)))
    det = em.detect(em.Series(topic=[*base, low], totals=[1000] * (B + 1)), {}, CFG)
    assert det.flags == ["csat_drop"]
    d = det.details["csat_drop"]
    assert d["drop"] > 1.5 and d["p_value"] < 0.001 and d["test"] == "welch-t"
    same = _week(40, csat=list(rng.choice([3, 4, 5], size=30)))
    assert em.detect(em.Series(topic=[*base, same], totals=[1000] * (B + 1)), {},
                     CFG).flags == []
    # Weekly means that wobble by +-0.5 make a 0.5 dip unremarkable (between-week variance).
    wobbly = [_week(40, csat=[4.0 + (0.5 if i % 2 else -0.5)] * 15 + [3.0, 5.0] * 8)
              for i in range(B)]
    dip = _week(40, csat=[3.5] * 15 + [3.0, 5.0] * 8)
    assert "csat_drop" not in em.detect(em.Series(topic=[*wobbly, dip],
                                                  totals=[1000] * (B + 1)), {}, CFG).flags


def test_spreading_and_market_surge() -> None:
    totals = [500] * (B + 1)
    markets = {
        "DE": _series([10] * B + [10], totals),
        "FR": _series([0] * B + [8], totals),
        "ES": _series([0] * B + [7], totals),
    }
    overall = _series([10] * B + [25], [1500] * (B + 1))
    det = em.detect(overall, markets, CFG)
    assert "spreading" in det.flags
    d = det.details["spreading"]
    assert d["new_markets"] == ["FR", "ES"] and d["observed"] == 3 and d["expected"] == 1

    # A surge confined to one market is flagged with that market named.
    markets = {"DE": _series([10] * B + [10], totals), "FR": _series([10] * B + [40], totals)}
    overall = _series([20] * B + [50], [1000] * (B + 1))
    det = em.detect(overall, markets, CFG)
    assert "surge" in det.flags and det.details["surge"]["markets"] == ["FR"]


def test_fdr_filter_keeps_strong_flags_drops_chance_ones() -> None:
    """Across 100 topics a p = 0.008 flag is what chance gives; p = 1e-8 is not."""
    def det(flag: str, p: float) -> em.Detection:
        return em.Detection(flags=[flag], details={flag: {"p_flag": p, "p_value": p}})

    dets = [det("surge", 1e-8), det("csat_drop", 0.008), det("new", 0.0)]
    dets += [em.Detection() for _ in range(97)]
    removed = em.fdr_filter(dets, 0.01)
    assert removed == 1
    assert dets[0].flags == ["surge"] and dets[0].details["surge"]["q_value"] == 1e-6
    assert dets[1].flags == [] and "csat_drop" not in dets[1].details
    assert dets[2].flags == ["new"]  # no test behind "new": kept


@pytest.mark.parametrize("rounded", [False, True])
def test_fdr_filter_is_the_step_up_rule(rounded: bool) -> None:
    """Keep every flagged p up to the largest p_(k) <= k alpha / m (ranks among the flagged,
    m = all topics of the week), also when rounded p-values tie with the boundary."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        m = int(rng.integers(1, 60))
        ps = rng.uniform(0, 0.02, m) ** rng.uniform(1, 4)
        if rounded:  # as _p stores them: ties and exact boundary hits happen
            ps = np.asarray([float(f"{p:.1g}") for p in ps])
        flagged = rng.random(m) < 0.4
        dets = [em.Detection(flags=["surge"], details={"surge": {"p_flag": float(p)}})
                if f else em.Detection() for p, f in zip(ps, flagged, strict=True)]
        em.fdr_filter(dets, 0.01)
        tested = sorted(float(p) for p, f in zip(ps, flagged, strict=True) if f)
        cut = max((p for k, p in enumerate(tested, start=1) if p <= k / m * 0.01), default=-1)
        want = [bool(f) and float(p) <= cut for p, f in zip(ps, flagged, strict=True)]
        assert [d.flags == ["surge"] for d in dets] == want
        assert all(d.details["surge"]["q_value"] <= 0.0100001 for d in dets if d.flags)


def test_fdr_filter_boundary_ties() -> None:
    """57 topics all at p = 0.01: each p_(k) = 0.01 <= k 0.01 / 57 only at k = 57, and the
    step-up rule then keeps all of them (q = 0.01 exactly)."""
    dets = [em.Detection(flags=["surge"], details={"surge": {"p_flag": 0.01}})
            for _ in range(57)]
    assert em.fdr_filter(dets, 0.01) == 0


def test_bh_adjust_matches_scipy_and_counts_untested_topics() -> None:
    rng = np.random.default_rng(5)
    ps = list(rng.uniform(0, 1, 40) ** 3)
    got = em.bh_adjust(ps)
    want = stats.false_discovery_control(ps, method="bh")
    assert got == pytest.approx(list(want), rel=1e-2)  # _p keeps 3 significant digits
    # An untested topic (None) is a test with p = 1: it raises the others' q-values.
    with_untested = em.bh_adjust([0.001, None, None, None])
    assert with_untested == [0.004, 1.0, 1.0, 1.0]
    assert em.bh_adjust([]) == []


def test_share_q_values_set_on_every_detection() -> None:
    dets = [em.Detection(share_p=1e-6), em.Detection(share_p=0.004)]
    dets += [em.Detection(share_p=None) for _ in range(98)]
    em.share_q_values(dets)
    assert dets[0].share_q == pytest.approx(1e-4)  # strong: survives 100 tests
    assert dets[1].share_q == pytest.approx(0.2)  # p = 0.004 is chance among 100 topics
    assert all(d.share_q == 1.0 for d in dets[2:])
