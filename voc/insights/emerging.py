"""Emerging-issue detection: one week of a topic against its trailing baseline.

Pure functions over :class:`~voc.insights.sums.Sums` (no database), so they are unit-tested
on planted patterns and on noise.

Choice of test (documented because it decides what gets flagged):

* **Shares, not counts.** A topic's weekly count is compared with ``baseline share x this
  week's total`` so that a week with twice the feedback overall does not flag everything.
* **Beta-binomial predictive test** for ``surge``, ``sentiment_drop``, ``spreading`` and the
  per-market tests. The baseline share is uncertain (few baseline items) *and* it wanders from
  week to week more than a binomial allows (real feedback is over-dispersed). Both are folded
  into one Beta distribution for this week's share: its mean is the baseline share (Jeffreys
  prior, so zero counts are fine) and its effective sample size is
  ``1 / (1/(N+2) + rho) - 1``, where ``N`` is the baseline volume and ``rho`` the intra-week
  correlation estimated by moments from the baseline weeks' shares (taking a 75% upper bound
  of the dispersion, since a few weeks estimate it poorly). The p-value is the
  beta-binomial upper tail ``P(X >= observed)``. With no over-dispersion and a large baseline
  this is the exact binomial test; with noisy weeks it is appropriately conservative.
* **CSAT**: Welch's t-test between this week's responses and the baseline's, with the
  between-week variance of weekly means (``tau^2``, by moments) added to the standard error,
  so ordinary week-to-week wobble is not "significant".
* **Many topics**: every topic is tested every week, so flags of one kind are kept only if
  they pass Benjamini-Hochberg at ``alpha`` across the week's topics (:func:`fdr_filter`;
  a flag confined to some markets is first Bonferroni-adjusted for the markets tested).
* **Small numbers**: nothing is flagged below ``settings.min_volume`` items, and each flag
  also needs a practical effect (``surge_min_ratio``, ``csat_min_drop``, a 10-point rise in
  negative share); significance is ``settings.significance_alpha`` (per-market tests use a
  Bonferroni-corrected alpha, since several markets are tested).

Flags: ``surge`` (share significantly above baseline), ``new`` (first seen within
``new_topic_weeks`` with at least ``min_volume`` items; replaces ``surge``),
``sentiment_drop`` / ``csat_drop`` (at stable volume, i.e. not a surge), ``spreading``
(significant presence in markets where the topic was absent in the baseline).
Every flag's details carry ``observed``, ``expected``, ``p_value`` (and ``z``), and the
markets where the per-market test fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from scipy import stats

from voc.insights.sums import Sums

SENTIMENT_MIN_RISE = 0.10  # negative share must rise by 10 points as well as be significant
NEW_MAX_PRIOR_RATIO = 0.1  # no earlier week above 10% of this week's count (or 2 items)
RHO_MAX = 0.5
TESTED_FLAGS = ("surge", "sentiment_drop", "csat_drop", "spreading")


@dataclass(frozen=True)
class DetectionConfig:
    """Thresholds (from Settings: :func:`config_from_settings`)."""

    alpha: float = 0.01
    min_volume: int = 10
    surge_min_ratio: float = 1.5
    csat_min_drop: float = 0.3
    new_topic_weeks: int = 2

    @property
    def min_csat_responses(self) -> int:
        return max(5, self.min_volume // 2)

    @property
    def min_market_volume(self) -> int:
        return max(3, self.min_volume // 2)


def config_from_settings(settings) -> DetectionConfig:  # noqa: ANN001 - voc.config.Settings
    """Detection thresholds from :class:`voc.config.Settings`."""
    return DetectionConfig(alpha=settings.significance_alpha, min_volume=settings.min_volume,
                           surge_min_ratio=settings.surge_min_ratio,
                           csat_min_drop=settings.csat_min_drop,
                           new_topic_weeks=settings.new_topic_weeks)


@dataclass
class Series:
    """A topic's weekly sums in one scope: baseline weeks (oldest first), then this week.

    ``totals`` are the scope's weekly volumes (all topics) for the same weeks.
    """

    topic: list[Sums]
    totals: list[int]

    @property
    def current(self) -> Sums:
        return self.topic[-1]

    @property
    def current_total(self) -> int:
        return self.totals[-1]

    @property
    def base(self) -> list[Sums]:
        return self.topic[:-1]

    @property
    def base_totals(self) -> list[int]:
        return self.totals[:-1]


@dataclass
class Detection:
    """Flags and the numbers behind them for one topic-week."""

    flags: list[str] = field(default_factory=list)
    details: dict[str, dict] = field(default_factory=dict)
    expected: float | None = None  # volume expected at the baseline share
    ratio: float | None = None  # observed / expected
    share_p: float | None = None
    share_q: float | None = None  # share_p adjusted across the week's topics (share_q_values)


# --- tests ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _chi2_q25(df: int) -> float:
    return float(stats.chi2.ppf(0.25, df))


def _rho(counts: list[float], totals: list[float], m: float) -> float:
    """Intra-week correlation of a share by moments (0 = binomial).

    The Pearson dispersion of a few baseline weeks is itself noisy; an underestimate would
    make ordinary weeks "significant", so it is divided by the 25% quantile of its chi-square
    distribution (a 75% upper bound) instead of by its degrees of freedom.
    """
    pairs = [(c, n) for c, n in zip(counts, totals, strict=True) if n > 0]
    if len(pairs) < 3 or m <= 0 or m >= 1:
        return 0.0
    k = len(pairs)
    pearson = sum((c - n * m) ** 2 / (n * m * (1 - m)) for c, n in pairs)
    phi = pearson / _chi2_q25(k - 1)
    n_bar = sum(n for _, n in pairs) / k
    if phi <= 1 or n_bar <= 1:
        return 0.0
    return min(RHO_MAX, (phi - 1) / (n_bar - 1))


def share_test(base_counts: list[float], base_totals: list[float], observed: int,
               total: int) -> dict:
    """Beta-binomial predictive upper-tail test of ``observed / total`` vs the baseline share.

    Returns observed, expected, ratio, baseline share, p_value, z, rho.
    """
    c, n = float(sum(base_counts)), float(sum(base_totals))
    m = (c + 0.5) / (n + 1.0)  # Jeffreys posterior mean: zero baselines are fine
    rho = _rho(base_counts, base_totals, m)
    ess = 1.0 / (1.0 / (n + 2.0) + rho) - 1.0
    ess = max(ess, 1.0)
    a, b = m * ess, (1 - m) * ess
    expected = m * total
    if total <= 0 or observed <= expected:
        p = None  # not above expectation: nothing to test (and the tail call is costly)
    else:
        p = float(stats.betabinom.sf(observed - 1, total, a, b))
    var = total * m * (1 - m) * (total + ess) / (1 + ess) if total > 0 else 0.0
    z = (observed - expected) / math.sqrt(var) if var > 0 else 0.0
    base_share = c / n if n else 0.0
    return {"observed": int(observed), "expected": round(expected, 2),
            "ratio": round(observed / expected, 3) if expected > 0 else None,
            "baseline_share": round(base_share, 5),
            "share": round(observed / total, 5) if total else None,
            "p_value": None if p is None else _p(p), "z": round(z, 2), "rho": round(rho, 4),
            "test": "beta-binomial"}


def csat_test(base: list[Sums], current: Sums) -> dict | None:
    """Welch t-test (with between-week variance) of this week's mean CSAT below baseline."""
    pooled = Sums()
    for s in base:
        pooled.add(s)
    if pooled.csat_n < 2 or current.csat_n < 2:
        return None
    mb, mc = pooled.csat, current.csat
    vb = pooled.csat_var or 0.0
    vc = current.csat_var if current.csat_var is not None else vb
    weekly = [(s.csat, s.csat_var or vb, s.csat_n) for s in base if s.csat_n >= 2]
    tau2 = 0.0
    if len(weekly) >= 3:
        means = [w[0] for w in weekly]
        mean_of_means = sum(means) / len(means)
        between = sum((x - mean_of_means) ** 2 for x in means) / (len(means) - 1)
        within = sum(v / n for _, v, n in weekly) / len(weekly)
        tau2 = max(0.0, between - within)
    se_c, se_b = vc / current.csat_n, vb / pooled.csat_n
    se = math.sqrt(se_c + se_b + tau2)
    if se <= 0:
        se = 1e-9
    t = (mc - mb) / se
    # Welch-Satterthwaite with the between-week component on the weekly means' df.
    denom = (se_c ** 2 / max(current.csat_n - 1, 1)) + (se_b ** 2 / max(pooled.csat_n - 1, 1))
    if tau2 > 0:
        denom += tau2 ** 2 / max(len(weekly) - 1, 1)
    df = (se_c + se_b + tau2) ** 2 / denom if denom > 0 else 1e6
    p = float(stats.t.cdf(t, df))
    return {"observed": round(mc, 3), "expected": round(mb, 3), "drop": round(mb - mc, 3),
            "responses": current.csat_n, "baseline_responses": pooled.csat_n,
            "p_value": _p(p), "z": round(t, 2), "df": round(df, 1), "test": "welch-t"}


def _p(p: float) -> float:
    return float(f"{max(min(p, 1.0), 0.0):.3g}")


# --- flags ------------------------------------------------------------------------------


def detect(series: Series, markets: dict[str, Series], cfg: DetectionConfig) -> Detection:
    """Flags for one topic-week: ``series`` in the whole scope, ``markets`` per market."""
    det = Detection()
    cur = series.current
    share = volume_test(series, cfg.alpha, cfg)
    det.expected, det.ratio, det.share_p = share["expected"], share["ratio"], share["p_value"]
    market_alpha = cfg.alpha / max(1, len(markets))

    novel = _new(series, cfg)
    if novel:
        novel["markets"] = sorted(m for m, ms in markets.items() if ms.current.volume > 0)
        det.flags.append("new")
        det.details["new"] = novel

    surging_markets = {}
    for code, ms in markets.items():
        if ms.current.volume < cfg.min_market_volume:
            continue
        t = volume_test(ms, market_alpha, cfg)
        if _is_surge(t, market_alpha, cfg) and ms.current.volume >= cfg.min_market_volume:
            surging_markets[code] = t
    surge_all = cur.volume >= cfg.min_volume and _is_surge(share, cfg.alpha, cfg)
    market_vol = sum(t["observed"] for t in surging_markets.values())
    if not novel and (surge_all or (surging_markets and market_vol >= cfg.min_volume)):
        det.flags.append("surge")
        det.details["surge"] = {**share, "markets": _by_size(surging_markets),
                                "by_market": surging_markets, "overall": surge_all}
    stable = "surge" not in det.flags and not novel

    if stable:
        sent = _sentiment(series, cfg.alpha, cfg)
        sent_markets = {}
        for code, ms in markets.items():
            t = _sentiment(ms, market_alpha, cfg)
            if t:
                sent_markets[code] = t
        if sent or sent_markets:
            det.flags.append("sentiment_drop")
            base = sent or max(sent_markets.values(), key=lambda d: d["rise"])
            det.details["sentiment_drop"] = {**base, "markets": _by_size(sent_markets),
                                             "by_market": sent_markets, "overall": bool(sent)}

        cs = _csat(series, cfg.alpha, cfg)
        cs_markets = {}
        for code, ms in markets.items():
            t = _csat(ms, market_alpha, cfg)
            if t:
                cs_markets[code] = t
        if cs or cs_markets:
            det.flags.append("csat_drop")
            base = cs or max(cs_markets.values(), key=lambda d: d["drop"])
            det.details["csat_drop"] = {**base, "markets": _by_size(cs_markets),
                                        "by_market": cs_markets, "overall": bool(cs)}

    if not novel:
        spread = _spreading(markets, market_alpha, cfg)
        if spread:
            det.flags.append("spreading")
            det.details["spreading"] = spread
    n_markets = max(1, len(markets))
    for flag in TESTED_FLAGS:
        d = det.details.get(flag)
        if d is None:
            continue
        if d.get("overall") and d.get("p_value") is not None:
            d["p_flag"] = d["p_value"]
        else:  # fired in some markets only: Bonferroni-adjusted best market
            ps = [t["p_value"] for t in d.get("by_market", {}).values()
                  if t.get("p_value") is not None]
            if flag == "spreading":
                ps = [d["p_value"]]
            d["p_flag"] = _p(min(1.0, min(ps) * n_markets)) if ps else 1.0
    return det


def fdr_filter(detections: list[Detection], alpha: float) -> int:
    """Benjamini-Hochberg across the topics of one week, per flag type (in place).

    Each topic is tested, so at ``alpha`` = 0.01 and 100 topics about one would be flagged by
    chance every week; keeping only flags that pass BH at ``alpha`` (every topic of the week
    counts as a test) bounds the expected share of false flags instead. ``new`` has no test
    and is kept. Returns the number of flags removed; survivors get their ``q_value`` (the
    BH-adjusted p-value, as in the ranking's growth weight) in their details.
    """
    m = len(detections)
    removed = 0
    for flag in TESTED_FLAGS:
        ps = [d.details[flag]["p_flag"] if flag in d.flags else None for d in detections]
        # The step-up rule itself decides (p-values are rounded, so ties with k alpha / m
        # happen; q <= alpha could round the other way): keep every p up to the largest
        # p_(k) <= k alpha / m.
        tested = sorted(p for p in ps if p is not None)
        cut = max((p for k, p in enumerate(tested, start=1) if p <= k / m * alpha),
                  default=-1.0)
        for det, p, q in zip(detections, ps, _bh_q(ps), strict=True):
            if p is None:
                continue
            if p > cut:
                det.flags.remove(flag)
                det.details.pop(flag)
                removed += 1
            else:
                det.details[flag]["q_value"] = _p(q)
    return removed


def bh_adjust(p_values: list[float | None]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in input order, to 3 significant
    digits.

    ``None`` (nothing to test, e.g. a share not above its baseline) counts as a test with
    p = 1, so the number of tests is always the number of topics.
    """
    return [_p(q) for q in _bh_q(p_values)]


def _bh_q(p_values: list[float | None]) -> list[float]:
    """Unrounded BH q-values (``None`` = p 1): ``q_(k) = min over j >= k of p_(j) m / j``.

    ``q <= alpha`` is the step-up rule (reject every p up to the largest
    ``p_(k) <= k alpha / m``) up to floating-point rounding at the boundary.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: 1.0 if p_values[i] is None else p_values[i])
    out = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        p = 1.0 if p_values[i] is None else p_values[i]
        running = min(running, p * m / rank)
        out[i] = running
    return out


def share_q_values(detections: list[Detection]) -> None:
    """Set each detection's ``share_q``: its share test's p-value, BH-adjusted (in place).

    The week's ranking weighs a topic's growth by this q-value rather than the raw p-value:
    with a few hundred topics tested, some show p < alpha by chance every week, and their
    growth must not count as if it were established (the ``surge`` flag is held to the same
    standard by :func:`fdr_filter`).
    """
    for det, q in zip(detections, bh_adjust([d.share_p for d in detections]), strict=True):
        det.share_q = q


def _drop_last_base(series: Series) -> Series:
    return Series(topic=[*series.topic[:-2], series.topic[-1]],
                  totals=[*series.totals[:-2], series.totals[-1]])


def _ongoing_surge(series: Series, alpha: float, cfg: DetectionConfig) -> bool:
    """Was last week already a significant surge against the weeks before it?"""
    if len(series.base) < 4 or series.base[-1].volume < cfg.min_market_volume:
        return False
    last, earlier = series.base[-1], series.base[:-1]
    c, n = sum(s.volume for s in earlier), sum(series.base_totals[:-1])
    if last.volume < cfg.surge_min_ratio * (c + 0.5) / (n + 1.0) * series.base_totals[-1]:
        return False  # cannot be a surge: skip the costly test
    t = share_test([s.volume for s in earlier], series.base_totals[:-1], last.volume,
                   series.base_totals[-1])
    return _is_surge(t, alpha, cfg)


def volume_test(series: Series, alpha: float, cfg: DetectionConfig) -> dict:
    """This week's share vs baseline.

    An event already under way last week (a significant surge then) is left out of the
    baseline, so a two-week event is not half-hidden by its own first week; and its p-value
    then comes from both weeks together (more evidence), provided this week's share is still
    ``surge_min_ratio`` above the baseline. Observed/expected/ratio are this week's.
    """
    ongoing = _ongoing_surge(series, alpha, cfg)
    s = _drop_last_base(series) if ongoing else series
    t = share_test([x.volume for x in s.base], s.base_totals, s.current.volume,
                   s.current_total)
    t["ongoing"] = ongoing
    if ongoing and t["ratio"] is not None and t["ratio"] >= cfg.surge_min_ratio:
        joint = _two_week_test([x.volume for x in s.base], s.base_totals,
                               [series.base[-1].volume, s.current.volume],
                               [series.base_totals[-1], s.current_total])
        t["p_this_week"] = t["p_value"]
        t["p_value"], t["z"] = joint
        t["test"] = "beta-binomial, this and last week (normal approximation)"
    return t


def _two_week_test(base_counts: list[float], base_totals: list[float],
                   counts: list[int], totals: list[int]) -> tuple[float, float]:
    """(p, z) of the sum of several weeks' counts against the baseline share.

    Each week has its own beta-binomial variance ``n m (1-m) (1 + (n-1) rho)``; the weeks are
    independent, and the uncertainty of the baseline share ``m`` is added once.
    """
    c, n = float(sum(base_counts)), float(sum(base_totals))
    m = (c + 0.5) / (n + 1.0)
    rho = _rho(base_counts, base_totals, m)
    total = float(sum(totals))
    var = sum(k * m * (1 - m) * (1 + (k - 1) * rho) for k in totals)
    var += total * total * m * (1 - m) / (n + 2.0)
    z = (sum(counts) - m * total) / math.sqrt(var) if var > 0 else 0.0
    return _p(float(stats.norm.sf(z))), round(z, 2)


def _by_size(by_market: dict[str, dict]) -> list[str]:
    return sorted(by_market, key=lambda m: (-by_market[m].get("observed_n",
                                                               by_market[m]["observed"]), m))


def _is_surge(t: dict, alpha: float, cfg: DetectionConfig) -> bool:
    return (t["p_value"] is not None and t["p_value"] < alpha and t["ratio"] is not None
            and t["ratio"] >= cfg.surge_min_ratio)


def _new(series: Series, cfg: DetectionConfig) -> dict | None:
    """First seen within the last ``new_topic_weeks`` weeks, with enough volume now."""
    cur = series.current.volume
    recent = max(cfg.new_topic_weeks, 1)
    prior = series.topic[:-recent]
    if cur < cfg.min_volume or not prior:
        return None
    prior_mean = sum(s.volume for s in prior) / len(prior)
    # "Seen before" = any earlier week with more than stray items (misassigned strays are ok).
    if max(s.volume for s in prior) > max(2.0, NEW_MAX_PRIOR_RATIO * cur):
        return None
    weeks_seen = sum(1 for s in series.topic[-recent:] if s.volume > 0)
    return {"observed": cur, "expected": round(prior_mean, 2), "prior_weeks": len(prior),
            "weeks_seen": weeks_seen, "p_value": None, "z": None, "test": "first-seen"}


def _sentiment(series: Series, alpha: float, cfg: DetectionConfig) -> dict | None:
    cur = series.current
    if cur.sent_n < cfg.min_volume:
        return None
    base = series.base
    if len(base) >= 4 and base[-1].sent_n >= cfg.min_volume:
        prev = share_test([s.neg_n for s in base[:-1]], [s.sent_n for s in base[:-1]],
                          base[-1].neg_n, base[-1].sent_n)
        rise = base[-1].neg_n / base[-1].sent_n - prev["baseline_share"]
        if prev["p_value"] is not None and prev["p_value"] < alpha and \
                rise >= SENTIMENT_MIN_RISE:  # under way last week
            base = base[:-1]
    t = share_test([s.neg_n for s in base], [s.sent_n for s in base], cur.neg_n, cur.sent_n)
    base_share = t["baseline_share"]
    rise = (cur.neg_n / cur.sent_n) - base_share
    if t["p_value"] is not None and t["p_value"] < alpha and rise >= SENTIMENT_MIN_RISE and sum(
            s.sent_n for s in base) > 0:
        return {"observed": round(cur.neg_n / cur.sent_n, 3), "expected": round(base_share, 3),
                "rise": round(rise, 3), "observed_n": cur.sent_n, "p_value": t["p_value"],
                "z": t["z"], "test": "beta-binomial"}
    return None


def _csat(series: Series, alpha: float, cfg: DetectionConfig) -> dict | None:
    """CSAT drop this week; a drop already significant last week is left out of the baseline
    and, while this week is still down, both weeks' responses are tested together."""
    cur = series.current
    if cur.csat_n < cfg.min_csat_responses:
        return None
    base = series.base
    prev = csat_test(base[:-1], base[-1]) if len(base) >= 4 and \
        base[-1].csat_n >= cfg.min_csat_responses else None
    ongoing = bool(prev and prev["p_value"] < alpha and prev["drop"] >= cfg.csat_min_drop)
    clean = base[:-1] if ongoing else base
    t = csat_test(clean, cur)
    if not t or t["drop"] < cfg.csat_min_drop:
        return None
    t["ongoing"] = ongoing
    if ongoing:
        joint = csat_test(clean, Sums().add(cur).add(base[-1]))
        if joint:
            t["p_this_week"] = t["p_value"]
            t["p_value"], t["z"] = joint["p_value"], joint["z"]
            t["test"] = "welch-t (this and last week)"
    if t["p_value"] < alpha:
        t["observed_n"] = cur.csat_n
        return t
    return None


def _spreading(markets: dict[str, Series], alpha: float, cfg: DetectionConfig) -> dict | None:
    """Significant presence in markets where the topic had (almost) nothing in the baseline."""
    before = sorted(m for m, ms in markets.items() if sum(s.volume for s in ms.base) > 0)
    new_markets = {}
    for code, ms in markets.items():
        base_vol = sum(s.volume for s in ms.base)
        if base_vol > len(ms.base) * 0.25 or ms.current.volume < cfg.min_market_volume:
            continue
        t = share_test([s.volume for s in ms.base], ms.base_totals, ms.current.volume,
                       ms.current_total)
        if t["p_value"] is not None and t["p_value"] < alpha:
            new_markets[code] = t
    vol = sum(t["observed"] for t in new_markets.values())
    if not new_markets or vol < cfg.min_volume:
        return None
    now = sorted(m for m, ms in markets.items() if ms.current.volume > 0)
    return {"observed": len(now), "expected": len(before), "new_markets": _by_size(new_markets),
            "markets": _by_size(new_markets), "new_market_volume": vol,
            "p_value": max(t["p_value"] for t in new_markets.values()), "z": None,
            "by_market": new_markets, "test": "beta-binomial per market"}
