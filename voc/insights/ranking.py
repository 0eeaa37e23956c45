"""Weekly ranking of topics (and policies) with reasons.

Score = sum over components of ``weight x component``, each component in [0, 1]:

============  =======  ==============================================================
component     default  meaning
============  =======  ==============================================================
growth        3.0      surge strength: log2(observed/expected share)/2, capped at 1,
                       times confidence (min(1, log10(q) / log10(alpha)), q = the share
                       test's p-value adjusted across the week's topics) times
                       min(1, volume / min_volume); 1 when flagged ``new``
novelty       3.0      1 when flagged ``new``
csat          2.5      CSAT drop vs baseline (drop / 1.5 points, capped) x confidence
sentiment     2.0      negative-share rise vs baseline (rise / 0.3, capped) x confidence
spreading     1.5      1 when flagged ``spreading``
volume        1.0      log(1 + volume) / log(1 + largest topic volume of the week)
negativity    0.5      negative share this week
csat_impact   0.5      the topic's CSAT driver relative to the week's largest
reach         0.5      markets with the topic / markets with any feedback this week
============  =======  ==============================================================

``settings.rank_weights`` (``VOC_RANK_WEIGHTS='{"growth": 4}'``) overrides any of these.
Flags dominate by design: a flagged topic outranks a merely large one. Growth is held to the
standard of the ``surge`` flag: a topic's growth counts in full only with the multiplicity-
corrected evidence and the volume a flag needs, so a topic of a handful of items that went from
1 to 7 (a large ratio, and with hundreds of topics such jumps happen by chance every week) does
not outrank established surges; its growth still counts in part and is named in its reasons.

Stored per week and scope (``all``, ``market:DE``, ``channel:bot``, ``kind:ticket``) in the
``rankings`` table by :func:`rank_week`; :func:`load_ranking` reads it (labels, hidden state
and examples at read time) and computes combined filters on the fly from stored rollups.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.insights import emerging
from voc.insights import weeks as wk
from voc.insights.drivers import drivers as topic_drivers_of
from voc.insights.rollups import TopicResolver, load_sums, topic_resolver
from voc.insights.sums import Sums
from voc.models.base import utcnow
from voc.models.feedback import Feedback, Source
from voc.models.insights import UNKNOWN, InsightWeek, RollupSlice
from voc.models.insights import Ranking as RankingRow

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS: dict[str, float] = {
    "growth": 3.0, "novelty": 3.0, "csat": 2.5, "sentiment": 2.0, "spreading": 1.5,
    "volume": 1.0, "negativity": 0.5, "csat_impact": 0.5, "reach": 0.5,
}
SPARK_WEEKS = 8
GROWTH_REASON_MIN = 0.1  # unflagged growth worth >= 0.3 points (default weight) is explained
EXAMPLES = 5


@dataclass
class Ranking:
    """A week's ranking: ``items`` are dicts (DESIGN.md section 3 keys plus extras)."""

    week: str
    items: list[dict[str, Any]] = field(default_factory=list)
    scope: str = "all"


def rank_weights(settings: Settings) -> dict[str, float]:
    """Default weights overridden by ``settings.rank_weights``; unknown keys are an error."""
    unknown = set(settings.rank_weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"VOC_RANK_WEIGHTS has unknown components {sorted(unknown)}; "
                         f"known: {sorted(DEFAULT_WEIGHTS)}")
    return {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in settings.rank_weights.items()}}


def scope_name(market: str | None = None, channel: str | None = None,
               kind: str | None = None) -> str:
    """``"all"`` or e.g. ``"market:DE|channel:bot"``."""
    parts = [f"{k}:{v.upper() if k == 'market' else v}"
             for k, v in (("market", market), ("channel", channel), ("kind", kind)) if v]
    return "|".join(parts) or "all"


# --- computing --------------------------------------------------------------------------


def _conf(p: float | None, alpha: float) -> float:
    if p is None:
        return 0.0
    return min(1.0, math.log10(max(p, 1e-300)) / math.log10(alpha)) if p < 1 else 0.0


def _fmt_markets(markets: list[str], limit: int = 4) -> str:
    shown = [m for m in markets if m][:limit]
    more = len([m for m in markets if m]) - len(shown)
    return ", ".join(shown) + (f" +{more} more" if more > 0 else "")


def _reasons(flags: list[str], det: emerging.Detection, cur: Sums, markets: list[str],
             total: int, drv: dict, growth: float, cfg: emerging.DetectionConfig,
             n_tested: int) -> list[str]:
    d = det.details
    out = []
    if "new" in flags:
        n = len([m for m in markets if m])
        when = "new this week" if d["new"]["weeks_seen"] <= 1 else "new in the last weeks"
        out.append(f"{when}: {cur.volume} items" + (f" in {n} market{'s' * (n != 1)}"
                                                     if n else ""))
    if "surge" in flags:
        s = d["surge"]
        where = "" if s.get("overall") and not s["markets"] else (
            f" in {_fmt_markets(s['markets'])}" if s["markets"] else "")
        second = ", 2nd week" if s.get("ongoing") else ""
        if s.get("overall"):
            out.append(f"volume {s['ratio']:.1f}x baseline{where} "
                       f"({s['observed']} vs {s['expected']:.0f} expected{second})")
        else:
            m0 = s["by_market"][s["markets"][0]]
            out.append(f"volume {m0['ratio']:.1f}x baseline in {_fmt_markets(s['markets'])}")
    if "csat_drop" in flags:
        c = d["csat_drop"]
        where = "" if c.get("overall") else f" in {_fmt_markets(c['markets'])}"
        out.append(f"CSAT {c['observed']:.1f} vs {c['expected']:.1f} baseline{where} "
                   f"({c['responses']} responses)")
    if "sentiment_drop" in flags:
        s = d["sentiment_drop"]
        where = "" if s.get("overall") else f" in {_fmt_markets(s['markets'])}"
        out.append(f"negative share {s['observed']:.0%} vs {s['expected']:.0%} "
                   f"baseline{where}")
    if "spreading" in flags:
        s = d["spreading"]
        out.append(f"spreading: now in {s['observed']} markets (new: "
                   f"{_fmt_markets(s['new_markets'])})")
    if not flags:
        share = cur.volume / total if total else 0
        text = f"{cur.volume} items ({share:.1%} of feedback)"
        if cur.negative_share is not None:
            text += f", {cur.negative_share:.0%} negative"
        out.append(text)
    if growth >= GROWTH_REASON_MIN and det.ratio and det.expected is not None \
            and not {"surge", "new"} & set(flags):
        # Growth that scored without a flag: say how much, and why it is not a surge.
        if cur.volume < cfg.min_volume:
            why = f"too few items to call a surge (under {cfg.min_volume})"
        elif det.ratio < cfg.surge_min_ratio:
            why = f"below the {cfg.surge_min_ratio:g}x surge threshold"
        else:
            why = f"could be chance among the week's {n_tested} topics"
        out.append(f"volume {det.ratio:.1f}x baseline ({cur.volume} vs {det.expected:.0f} "
                   f"expected), {why}")
    if drv.get("csat_impact") and drv["csat_impact"] >= 0.02:
        out.append(f"without it, overall CSAT would rise by {drv['csat_impact']:.2f}")
    if drv.get("automation_opportunity", 0) >= 5:
        out.append(f"automation opportunity: {drv['escalations']} bot hand-overs "
                   f"({drv['escalation_rate']:.0%} of bot conversations)")
    return out


def growth_component(det: emerging.Detection, volume: int,
                     cfg: emerging.DetectionConfig) -> float:
    """Overall growth in [0, 1]: size of the rise x confidence in it x enough volume.

    Confidence comes from the share test's p-value adjusted across the week's topics
    (``det.share_q``; the raw p-value if it was not adjusted), and volume below
    ``min_volume`` scales growth down in proportion: the same two bars a ``surge`` flag must
    pass, applied smoothly. A flagged overall surge passes both, so its growth is unchanged.
    """
    if not det.ratio or det.ratio <= 1:
        return 0.0
    p = det.share_q if det.share_q is not None else det.share_p
    size = min(1.0, volume / cfg.min_volume) if cfg.min_volume > 0 else 1.0
    return min(1.0, math.log2(det.ratio) / 2) * _conf(p, cfg.alpha) * size


def _components(flags: list[str], det: emerging.Detection, cur: Sums, max_vol: int,
                n_markets: int, all_markets: int, impact_max: float, drv: dict,
                cfg: emerging.DetectionConfig) -> dict[str, float]:
    d = det.details
    alpha = cfg.alpha
    comp = dict.fromkeys(DEFAULT_WEIGHTS, 0.0)
    comp["growth"] = growth_component(det, cur.volume, cfg)
    if "surge" in flags and not d["surge"].get("overall"):
        # A surge confined to some markets: growth of the strongest market, confidence 1.
        best = max(d["surge"]["by_market"].values(), key=lambda t: t["ratio"] or 0)
        comp["growth"] = max(comp["growth"], min(1.0, math.log2(best["ratio"]) / 2) * 0.8)
    if "new" in flags:
        comp["novelty"] = 1.0
        comp["growth"] = 1.0
    if "csat_drop" in flags:
        c = d["csat_drop"]
        comp["csat"] = min(1.0, c["drop"] / 1.5) * max(_conf(c["p_value"], alpha), 0.5)
    if "sentiment_drop" in flags:
        s = d["sentiment_drop"]
        comp["sentiment"] = min(1.0, s["rise"] / 0.3) * max(_conf(s["p_value"], alpha), 0.5)
    if "spreading" in flags:
        comp["spreading"] = 1.0
    comp["volume"] = math.log1p(cur.volume) / math.log1p(max_vol) if max_vol else 0.0
    comp["negativity"] = cur.negative_share or 0.0
    impact = drv.get("csat_impact") or 0.0
    comp["csat_impact"] = max(0.0, impact) / impact_max if impact_max > 0 else 0.0
    comp["reach"] = n_markets / all_markets if all_markets else 0.0
    return {k: round(v, 4) for k, v in comp.items()}


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def rank_units(
    sums: dict[tuple, Sums],
    totals: dict[tuple, Sums],
    unit_of: Callable[[int], Iterable[Any]],
    weeks: list[str],
    settings: Settings,
) -> list[dict[str, Any]]:
    """Rank "units" (topics or policies) of the last week in ``weeks`` (baseline first).

    ``sums`` are keyed (week, raw topic id, market); ``totals`` (week, market) hold all
    feedback of the scope; ``unit_of(raw_topic_id)`` names the units a topic counts towards.
    Returns unranked item dicts sorted by score (rank fields filled by the caller).
    """
    cfg = emerging.config_from_settings(settings)
    weights = rank_weights(settings)
    week = weeks[-1]
    widx = {w: i for i, w in enumerate(weeks)}
    n = len(weeks)
    per_unit: dict[Any, dict[str, list[Sums]]] = defaultdict(dict)
    for (w, tid, market), s in sums.items():
        for unit in unit_of(tid):
            by_market = per_unit[unit]
            series = by_market.get(market)
            if series is None:
                series = by_market[market] = [Sums() for _ in range(n)]
            series[widx[w]].add(s)
    market_totals: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    week_totals = [0] * n
    overall_now = Sums()
    for (w, market), s in totals.items():
        market_totals[market][widx[w]] += s.volume
        week_totals[widx[w]] += s.volume
        if w == week:
            overall_now.add(s)
    all_markets = sum(1 for m, t in market_totals.items() if m != UNKNOWN and t[-1] > 0)

    prepared = []
    for unit, by_market in per_unit.items():
        topic = [Sums() for _ in range(n)]
        for series in by_market.values():
            for i, s in enumerate(series):
                topic[i].add(s)
        if topic[-1].volume == 0:
            continue
        prepared.append((unit, by_market, topic))
    max_vol = max((t[-1].volume for _, _, t in prepared), default=0)
    drivers_of = {u: topic_drivers_of(t[-1], overall_now) for u, _, t in prepared}
    impact_max = max((d["csat_impact"] or 0.0 for d in drivers_of.values()), default=0.0)

    dets = []
    for _unit, by_market, topic in prepared:
        series = emerging.Series(topic=topic, totals=week_totals)
        markets = {m: emerging.Series(topic=s, totals=market_totals[m])
                   for m, s in by_market.items() if m != UNKNOWN}
        dets.append(emerging.detect(series, markets, cfg))
    emerging.fdr_filter(dets, cfg.alpha)
    emerging.share_q_values(dets)

    items = []
    for (unit, by_market, topic), det in zip(prepared, dets, strict=True):
        cur = topic[-1]
        present = sorted((m for m, s in by_market.items() if m != UNKNOWN and s[-1].volume > 0),
                         key=lambda m: (-by_market[m][-1].volume, m))
        drv = drivers_of[unit]
        comp = _components(det.flags, det, cur, max_vol, len(present), all_markets,
                           impact_max, drv, cfg)
        score = sum(weights[k] * v for k, v in comp.items())
        change = None
        if det.expected and sum(s.volume for s in topic[:-1]) > 0:
            change = (cur.volume - det.expected) / det.expected
        items.append({
            "unit": unit, "score": round(score, 4), "volume": cur.volume,
            "baseline": _round(det.expected, 2), "change": _round(change, 3),
            "share": _round(cur.volume / week_totals[-1] if week_totals[-1] else None, 5),
            "flags": det.flags, "flag_details": det.details,
            "negative_share": _round(cur.negative_share, 3), "csat": _round(cur.csat, 2),
            "csat_n": cur.csat_n, "markets": present,
            "reasons": _reasons(det.flags, det, cur, present, week_totals[-1], drv,
                                comp["growth"], cfg, len(dets)),
            "components": comp, "drivers": drv,
            "sparkline": [s.volume for s in topic[-SPARK_WEEKS:]],
        })
    items.sort(key=lambda it: (-it["score"], -it["volume"], str(it["unit"])))
    return items


def _window(settings: Settings, week: str) -> list[str]:
    wk.parse_week(week)
    return wk.previous_weeks(week, settings.baseline_weeks) + [week]


def compute_ranking(session: Session, settings: Settings, week: str, *,
                    market: str | None = None, channel: str | None = None,
                    kind: str | None = None, resolver: TopicResolver | None = None,
                    ) -> list[dict[str, Any]]:
    """Rank the visible topics of ``week`` in a scope from stored rollups (not stored)."""
    resolver = resolver or topic_resolver(session)
    weeks = _window(settings, week)
    sums = load_sums(session, weeks, ("week", "topic_id", "market"), market=market,
                     channel=channel, kind=kind)
    totals = load_sums(session, weeks, ("week", "market"), market=market, channel=channel,
                       kind=kind)

    def unit_of(raw: int) -> list[int]:
        tid = resolver.resolve(raw)
        return [tid] if resolver.visible(tid) else []

    items = rank_units(sums, totals, unit_of, weeks, settings)
    for it in items:
        it["topic_id"] = it.pop("unit")
        it["label"] = resolver.labels.get(it["topic_id"], f"topic {it['topic_id']}")
    return items


def _previous_ranks(session: Session, week: str, scope: str, key: str) -> dict[Any, int]:
    prev = wk.shift_week(week, -1)
    col = getattr(RankingRow, key)
    rows = session.execute(select(col, RankingRow.rank).where(
        RankingRow.week == prev, RankingRow.scope == scope))
    return {k: r for k, r in rows}


def store_ranking(session: Session, week: str, scope: str, items: list[dict[str, Any]],
                  *, key: str = "topic_id") -> int:
    """Replace the stored ranking of (week, scope) with ``items`` (ranked here)."""
    prev = _previous_ranks(session, week, scope, key)
    now = utcnow()
    rows = []
    for i, it in enumerate(items, start=1):
        it["rank"] = i
        k = it.get(key)
        it["rank_change"] = (prev[k] - i) if k in prev else None
        rows.append({
            "week": week, "scope": scope, "topic_id": it.get("topic_id"),
            "policy": it.get("policy"), "label": str(it["label"])[:200], "rank": i,
            "score": it["score"], "volume": it["volume"], "baseline": it["baseline"],
            "change": it["change"], "share": it["share"],
            "negative_share": it["negative_share"], "csat": it["csat"], "csat_n": it["csat_n"],
            "flags": it["flags"], "flag_details": it["flag_details"], "markets": it["markets"],
            "reasons": it["reasons"], "components": it["components"], "drivers": it["drivers"],
            "sparkline": it["sparkline"], "rank_change": it["rank_change"], "computed_at": now,
        })
    session.execute(delete(RankingRow).where(RankingRow.week == week, RankingRow.scope == scope))
    if rows:
        session.execute(RankingRow.__table__.insert(), rows)
    return len(rows)


def rank_week(session: Session, settings: Settings, week: str) -> dict[str, int]:
    """Compute and store ``week``'s rankings: all, each market, channel and kind, policies."""
    t0 = time.perf_counter()
    resolver = topic_resolver(session)
    dims = session.execute(select(RollupSlice.market, RollupSlice.channel, RollupSlice.kind)
                           .where(RollupSlice.week == week).distinct()).all()
    scopes: list[dict[str, str]] = [{}]
    for name, idx in (("market", 0), ("channel", 1), ("kind", 2)):
        for value in sorted({d[idx] for d in dims if d[idx] != UNKNOWN}):
            scopes.append({name: value})
    written = 0
    for filt in scopes:
        items = compute_ranking(session, settings, week, resolver=resolver, **filt)
        written += store_ranking(session, week, scope_name(**filt), items)
    from voc.insights import policies  # here: policies import this module

    written += policies.rank_policies(session, settings, week, resolver=resolver)
    row = session.get(InsightWeek, week)
    if row is not None:
        row.ranked_at = utcnow()
    session.flush()
    log.info("ranked %s: %d scopes, %d rows in %.2fs", week, len(scopes), written,
             time.perf_counter() - t0)
    return {"scopes": len(scopes), "rows": written}


def weeks_to_rank(session: Session, settings: Settings) -> list[str]:
    """Weeks whose ranking is missing or older than a rollup in their baseline window."""
    rows = session.execute(select(InsightWeek.week, InsightWeek.rolled_at,
                                  InsightWeek.ranked_at).order_by(InsightWeek.week)).all()
    rolled = {r.week: r.rolled_at for r in rows}
    out = []
    for r in rows:
        if r.ranked_at is None:
            out.append(r.week)
            continue
        window = wk.previous_weeks(r.week, settings.baseline_weeks) + [r.week]
        if any(rolled.get(w) and rolled[w] > r.ranked_at for w in window):
            out.append(r.week)
    return out


# --- reading ----------------------------------------------------------------------------


def available_weeks(session: Session) -> list[str]:
    """Weeks with a stored ranking, newest first."""
    return list(session.scalars(select(RankingRow.week).where(RankingRow.scope == "all")
                                .distinct().order_by(RankingRow.week.desc())))


_ITEM_KEYS = ("rank", "topic_id", "label", "score", "volume", "baseline", "change", "flags",
              "negative_share", "csat", "markets", "reasons")


def row_to_item(row: RankingRow) -> dict[str, Any]:
    """A stored ranking row as an item dict (contract keys plus extras)."""
    return {
        "rank": row.rank, "topic_id": row.topic_id, "policy": row.policy, "label": row.label,
        "score": row.score, "volume": row.volume, "baseline": row.baseline,
        "change": row.change, "flags": list(row.flags or []),
        "negative_share": row.negative_share, "csat": row.csat, "markets": list(row.markets),
        "reasons": list(row.reasons), "examples": [], "rank_change": row.rank_change,
        "sparkline": list(row.sparkline or []), "flag_details": dict(row.flag_details or {}),
        "share": row.share, "csat_n": row.csat_n, "drivers": dict(row.drivers or {}),
        "components": dict(row.components or {}),
    }


def load_ranking(session: Session, week: str, *, market: str | None = None,
                 channel: str | None = None, kind: str | None = None,
                 policy: str | None = None, limit: int | None = None,
                 with_examples: bool = True, settings: Settings | None = None) -> Ranking:
    """The ranking of ``week`` (optionally for a market/channel/kind and/or a policy's topics).

    Reads stored rankings; a combination of filters that is not stored is computed from the
    stored rollups (``settings`` gives the thresholds; defaults otherwise). Hidden topics are
    dropped and labels are the current ``display_label``. ``examples`` are up to 5
    representative items per entry as ``{"source", "id"}``.
    """
    wk.parse_week(week)
    scope = scope_name(market, channel, kind)
    rows = session.scalars(select(RankingRow).where(
        RankingRow.week == week, RankingRow.scope == scope).order_by(RankingRow.rank)).all()
    resolver = topic_resolver(session)
    if rows:
        items = [row_to_item(r) for r in rows]
    elif scope != "all" and _has_rollups(session, week):
        items = compute_ranking(session, settings or Settings(), week, market=market,
                                channel=channel, kind=kind, resolver=resolver)
        prev = {r.topic_id: r.rank for r in session.scalars(select(RankingRow).where(
            RankingRow.week == wk.shift_week(week, -1), RankingRow.scope == scope))}
        for i, it in enumerate(items, start=1):
            it["rank"] = i
            it["rank_change"] = prev[it["topic_id"]] - i if it["topic_id"] in prev else None
            it["examples"] = []
            it["policy"] = None
    else:
        items = []
    # Curation after ranking: drop hidden/merged-away topics, show current labels.
    items = [it for it in items if resolver.visible(it["topic_id"])
             and resolver.resolve(it["topic_id"]) == it["topic_id"]]
    for it in items:
        it["label"] = resolver.labels.get(it["topic_id"], it["label"])
    if policy:
        from voc.insights.policies import topics_for_policy

        keep = set(topics_for_policy(session, policy))
        items = [it for it in items if it["topic_id"] in keep]
    if policy or len(items) != len(rows):
        for i, it in enumerate(items, start=1):
            it["rank"] = i
    if limit is not None:
        items = items[:limit]
    if with_examples and items:
        ex = examples_for(session, week, [it["topic_id"] for it in items], resolver,
                          market=market, channel=channel, kind=kind,
                          timezone=(settings.timezone if settings else None))
        for it in items:
            it["examples"] = ex.get(it["topic_id"], [])
    return Ranking(week=week, items=items, scope=scope)


def _has_rollups(session: Session, week: str) -> bool:
    return session.get(InsightWeek, week) is not None


def _week_range(session: Session, week: str, timezone: str | None):  # noqa: ANN202
    row = session.get(InsightWeek, week)
    if row is not None:
        return row.start_at, row.end_at
    return wk.week_bounds(week, timezone or "UTC")


def examples_for(session: Session, week: str, topic_ids: list[int], resolver: TopicResolver,
                 *, market: str | None = None, channel: str | None = None,
                 kind: str | None = None, limit: int = EXAMPLES,
                 timezone: str | None = None) -> dict[int, list[dict[str, str]]]:
    """Up to ``limit`` representative items per topic in ``week`` as ``{"source", "id"}``.

    Uses the topics service's ``examples_for_topics`` (closest to the centroid) when it exists
    and no market/channel/kind filter applies; otherwise one bounded query with a window
    function: the most negative items first, then the lowest CSAT, then the newest.
    """
    start, end = _week_range(session, week, timezone)
    out: dict[int, list[dict[str, str]]] = {}
    if not (market or channel or kind):
        out = _service_examples(session, week, topic_ids, limit, timezone or "UTC")
    todo = [tid for tid in topic_ids if len(out.get(tid, [])) < limit]
    if not todo:
        return out
    members = {tid: resolver.members(tid) for tid in todo}
    raw_to_topic = {raw: tid for tid, raws in members.items() for raw in raws}
    f = Feedback
    order = (f.sentiment_score.is_(None), f.sentiment_score, f.csat.is_(None), f.csat,
             f.created_at.desc(), f.id)
    rn = func.row_number().over(partition_by=f.topic_id, order_by=order).label("rn")
    inner = select(f.id, f.topic_id, f.source_id, f.external_id, rn).where(
        f.topic_id.in_(list(raw_to_topic)), f.created_at >= start, f.created_at < end,
        f.text != _expired_text())  # retention-anonymised items are not shown as examples
    if market:
        inner = inner.where(func.upper(f.market) == market.upper())
    if channel:
        inner = inner.where(f.channel == channel)
    if kind:
        inner = inner.where(f.kind == kind)
    sub = inner.subquery()
    rows = session.execute(select(sub.c.topic_id, sub.c.source_id, sub.c.external_id)
                           .where(sub.c.rn <= limit).order_by(sub.c.topic_id, sub.c.rn)).all()
    names = _source_names(session, {r.source_id for r in rows})
    for r in rows:
        lst = out.setdefault(raw_to_topic[r.topic_id], [])
        ex = {"source": names.get(r.source_id, ""), "id": r.external_id}
        if len(lst) < limit and ex not in lst:
            lst.append(ex)
    return out


def _service_examples(session: Session, week: str, topic_ids: list[int],
                      limit: int, tz: str) -> dict[int, list[dict[str, str]]]:
    """Examples closest to the centroid from the topics service, if it is there."""
    try:
        from voc.nlp.topics.service import examples_for_topics
    except ImportError:
        return {}
    try:
        with session.begin_nested():  # a failure must not poison the caller's transaction
            found = examples_for_topics(session, topic_ids, week=week, limit=limit, tz=tz)
    except Exception as exc:  # noqa: BLE001 - the bounded fallback query takes over
        log.warning("topic examples failed (%s); using the fallback query", exc)
        return {}
    names = _source_names(session, {fb.source_id for v in found.values() for fb in v})
    return {tid: [{"source": names.get(fb.source_id, ""), "id": fb.external_id} for fb in v]
            for tid, v in found.items() if v}


def _expired_text() -> str:
    try:
        from voc.compliance.retention import EXPIRED_TEXT
    except ImportError:
        return "[expired]"
    return EXPIRED_TEXT


def _source_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Source.id, Source.name).where(Source.id.in_(ids))).all())


def contract_item(item: dict[str, Any]) -> dict[str, Any]:
    """Only the DESIGN.md section 3 keys of an item, in contract order."""
    return {**{k: item[k] for k in _ITEM_KEYS}, "examples": item.get("examples", [])}
