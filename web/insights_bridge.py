"""The dashboard's view of the insights and topics areas.

Pages call these helpers instead of ``voc.insights`` directly so that (a) the app still
works, with simpler figures computed from the feedback table, on a database where the
insights step has not run or the module is not installed, and (b) result shapes are
normalised in one place. The real functions are always preferred.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voc.config import Settings
from voc.models.feedback import Feedback, Source
from voc.models.topics import Topic

log = logging.getLogger(__name__)
FALLBACK_WEEKS = 12


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):  # the module itself is missing
            return None
        raise


def _fn(module: str, name: str) -> Any:
    mod = _module(module)
    return getattr(mod, name, None) if mod else None


# --- weeks -----------------------------------------------------------------

def iso_week(dt: datetime, tz: str) -> str:
    """ISO week label of ``dt`` in timezone ``tz``."""
    y, w, _ = dt.astimezone(ZoneInfo(tz or "UTC")).isocalendar()
    return f"{y:04d}-W{w:02d}"


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds of ``week`` (local Monday to Monday)."""
    fn = _fn("voc.insights.weeks", "week_bounds")
    if fn:
        return fn(week, tz)
    monday = date.fromisocalendar(int(week[:4]), int(week[6:8]), 1)
    zone = ZoneInfo(tz or "UTC")
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    end = start + timedelta(days=7)
    return start.astimezone(UTC), end.astimezone(UTC)


def shift_week(week: str, delta: int) -> str:
    """The week ``delta`` weeks from ``week``."""
    d = date.fromisocalendar(int(week[:4]), int(week[6:8]), 1) + timedelta(weeks=delta)
    y, w, _ = d.isocalendar()
    return f"{y:04d}-W{w:02d}"


_WEEKS_CACHE: dict[str, tuple[float, list[str]]] = {}
#: Every page needs the week list; a new week appears at most once per pipeline run.
WEEKS_TTL_S = 30.0


def available_weeks(session: Session, settings: Settings, *, cache: bool = True) -> list[str]:
    """Weeks with a ranking (newest first); else weeks that hold feedback.

    Cached per process for :data:`WEEKS_TTL_S` seconds when ``cache`` (pages pass
    ``cache=not app.testing``).
    """
    import time

    key = settings.database_url
    hit = _WEEKS_CACHE.get(key) if cache else None
    if hit and time.monotonic() - hit[0] < WEEKS_TTL_S:
        return hit[1]
    weeks = _available_weeks(session, settings)
    if cache and weeks:
        _WEEKS_CACHE[key] = (time.monotonic(), weeks)
    return weeks


def warm_up() -> None:
    """Import the insights and topics modules now (gunicorn preload), not on a first request."""
    for name in ("voc.insights.ranking", "voc.insights.topic_stats", "voc.insights.policies",
                 "voc.nlp.topics.service", "voc.nlp.topics.curation"):
        _module(name)


def _available_weeks(session: Session, settings: Settings) -> list[str]:
    fn = _fn("voc.insights.ranking", "available_weeks")
    if fn:
        weeks = list(fn(session))
        if weeks:
            return weeks
    lo, hi = session.execute(select(func.min(Feedback.created_at),
                                    func.max(Feedback.created_at))).one()
    if lo is None:
        return []
    lo = lo if isinstance(lo, datetime) else datetime.fromisoformat(str(lo))
    hi = hi if isinstance(hi, datetime) else datetime.fromisoformat(str(hi))
    lo, hi = lo.replace(tzinfo=lo.tzinfo or UTC), hi.replace(tzinfo=hi.tzinfo or UTC)
    first, last = iso_week(lo, settings.timezone), iso_week(hi, settings.timezone)
    weeks, cur = [], last
    while len(weeks) < 520:
        weeks.append(cur)
        if cur == first:
            break
        cur = shift_week(cur, -1)
    return weeks


# --- ranking ---------------------------------------------------------------

def load_ranking(session: Session, settings: Settings, week: str, *, market: str | None = None,
                 channel: str | None = None, kind: str | None = None, policy: str | None = None,
                 limit: int | None = None, with_examples: bool = False) -> list[dict[str, Any]]:
    """Ranked topics of ``week`` as dicts (see architecture.md for the keys).

    ``with_examples`` adds representative items per entry (the API wants them; the page
    does not, and they cost a query per request).
    """
    fn = _fn("voc.insights.ranking", "load_ranking")
    if fn:
        extra = _supported(fn, settings=settings, with_examples=with_examples)
        result = fn(session, week, market=market, channel=channel, kind=kind, policy=policy,
                    limit=limit, **extra)
        items = getattr(result, "items", result) or []
        if items or _has_rankings(session):
            return [_as_dict(i) for i in items]
    return _fallback_ranking(session, settings, week, market=market, channel=channel, kind=kind,
                             limit=limit)


def ranking_item(session: Session, settings: Settings, week: str,
                 topic_id: int) -> dict[str, Any] | None:
    """One topic's entry in the week's overall ranking (one indexed row, not the whole list)."""
    model = getattr(_module("voc.models.insights"), "Ranking", None)
    to_item = _fn("voc.insights.ranking", "row_to_item")
    if model is not None and to_item is not None:
        row = session.scalar(select(model).where(model.week == week, model.scope == "all",
                                                 model.topic_id == topic_id))
        if row is not None:
            return to_item(row)
        if _has_rankings(session):
            return None
    for item in load_ranking(session, settings, week):
        if item.get("topic_id") == topic_id:
            return item
    return None


def load_policy_ranking(session: Session, week: str) -> list[dict[str, Any]]:
    """Policies ranked for ``week`` (empty when the insights area does not provide them)."""
    fn = _fn("voc.insights.policies", "load_policy_ranking")
    if not fn:
        return []
    result = fn(session, week)
    return [_as_dict(i) for i in (getattr(result, "items", result) or [])]


def policy_names(session: Session, settings: Settings) -> list[str]:
    """Names of the policies in the taxonomy (for filters)."""
    fn = _fn("voc.insights.policies", "load_policies")
    if not fn:
        return []
    try:
        policies = fn(settings)
    except Exception as exc:  # noqa: BLE001 - a broken taxonomy must not break the page
        log.warning("policies unavailable: %s", exc)
        return []
    names = []
    for p in policies or []:
        name = p.get("name") if isinstance(p, dict) else getattr(p, "name", p)
        if name:
            names.append(str(name))
    return sorted(set(names))


_TITLES_CACHE: dict[str, tuple[float, dict[str, str]]] = {}


def policy_titles(settings: Settings) -> dict[str, str]:
    """Policy name -> human title (name when there is no title); cached a few minutes."""
    import time

    key = str(settings.policy_taxonomy_path)
    hit = _TITLES_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < _DISTINCT_TTL_S:
        return hit[1]
    out = _policy_titles(settings)
    _TITLES_CACHE[key] = (time.monotonic(), out)
    return out


def _policy_titles(settings: Settings) -> dict[str, str]:
    fn = _fn("voc.insights.policies", "load_policies")
    if not fn:
        return {}
    try:
        policies = fn(settings)
    except Exception:  # noqa: BLE001 - a broken taxonomy must not break the page
        return {}
    out = {}
    for p in policies or []:
        name = p.get("name") if isinstance(p, dict) else getattr(p, "name", None)
        title = p.get("title") if isinstance(p, dict) else getattr(p, "title", None)
        if name:
            out[str(name)] = str(title or name)
    return out


def topic_ids_for_policy(session: Session, policy: str) -> list[int] | None:
    """Topic ids mapped to ``policy`` (None when policies are not available)."""
    mod = _module("voc.models.insights")
    model = getattr(mod, "TopicPolicy", None) if mod else None
    if model is None:
        return None
    return list(session.scalars(select(model.topic_id).where(model.policy == policy)))


# --- topics ----------------------------------------------------------------

def topic_trend(session: Session, settings: Settings, topic_id: int, week: str | None,
                weeks: int = 12) -> list[dict[str, Any]]:
    """Per-week volume, negative share and CSAT of a topic, oldest first."""
    fn = _fn("voc.insights.topic_stats", "topic_trend")
    if fn:
        data = fn(session, topic_id, weeks=weeks, **_supported(fn, end_week=week))
        rows = data.get("weeks", data.get("items", [])) if isinstance(data, dict) else data
        rows = [_as_dict(r) for r in rows or []]
        if rows:
            return rows
    return _fallback_trend(session, settings, topic_id, week, weeks)


def topic_breakdown(session: Session, settings: Settings, topic_id: int,
                    week: str | None) -> dict[str, list[tuple[str, float]]]:
    """Volume by market and by channel for ``week`` (all time when None)."""
    load_sums = _fn("voc.insights.rollups", "load_sums")
    resolver = _fn("voc.insights.rollups", "topic_resolver")
    if load_sums and resolver and week and _has_rankings(session):
        # Only the two splits the page shows, from the stored rollups (topic_breakdown also
        # computes per-dimension totals and kinds: three times the queries).
        members = resolver(session).members(topic_id)
        out = {}
        for key, dim in (("markets", "market"), ("channels", "channel")):
            sums = load_sums(session, [week], (dim,), topic_ids=members)
            out[key] = sorted(((str(k[0] or "unknown"), float(v.volume)) for k, v in sums.items()
                               if v.volume), key=lambda kv: -kv[1])
        return out
    fn = _fn("voc.insights.topic_stats", "topic_breakdown")
    if fn and week:
        data = _as_dict(fn(session, topic_id, week))
        out = {k: _pairs(data.get(k)) for k in ("markets", "channels", "kinds")
               if data.get(k) is not None}
        if out.get("markets") or out.get("channels"):
            return out
    return _fallback_breakdown(session, settings, topic_id, week)


def topic_drivers(session: Session, topic_id: int, week: str | None) -> dict[str, Any]:
    """CSAT impact, automation opportunity... (empty when not provided)."""
    fn = _fn("voc.insights.topic_stats", "topic_drivers")
    if not fn or not week:
        return {}
    return _as_dict(fn(session, topic_id, week)) or {}


def policies_for_topic(session: Session, topic_id: int) -> list[dict[str, Any]]:
    """Policies related to a topic, as dicts with at least ``policy``/``name``."""
    fn = _fn("voc.insights.policies", "policies_for_topic")
    if not fn:
        return []
    out = []
    for p in fn(session, topic_id) or []:
        d = _as_dict(p) if not isinstance(p, str) else {"policy": p}
        d.setdefault("policy", d.get("name"))
        out.append(d)
    return out


def topic_examples(session: Session, topic_id: int, week: str | None,
                   limit: int = 5) -> list[Feedback]:
    """Representative items (closest to the centroid); newest items as a fallback."""
    fn = _fn("voc.nlp.topics.service", "topic_examples")
    if fn:
        try:
            items = list(fn(session, topic_id, week=week, limit=limit))
            if items:
                return items
        except Exception as exc:  # noqa: BLE001 - examples are optional on the page
            log.warning("topic_examples failed: %s", exc)
    from web.search import EXPIRED_TEXT

    stmt = select(Feedback).where(Feedback.topic_id == topic_id, Feedback.text != EXPIRED_TEXT)
    if week:
        start, end = week_bounds(week, "UTC")
        stmt = stmt.where(Feedback.created_at >= start, Feedback.created_at < end)
    return list(session.scalars(stmt.order_by(Feedback.created_at.desc()).limit(limit)))


def curation() -> ModuleType | None:
    """``voc.nlp.topics.curation`` or None if the topics area has not provided it."""
    return _module("voc.nlp.topics.curation")


# --- helpers ---------------------------------------------------------------

def _supported(fn: Any, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that ``fn`` accepts (the insights API grew optional ones)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in kwargs.items() if k in params}


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def _pairs(value: Any) -> list[tuple[str, float]]:
    if isinstance(value, dict):
        pairs = [(str(k), _volume(v)) for k, v in value.items()]
    else:
        pairs = []
        for item in value or []:
            if isinstance(item, dict):
                key = item.get("market") or item.get("channel") or item.get("kind") \
                    or item.get("name") or item.get("key")
                pairs.append((str(key or "unknown"), _volume(item)))
            elif isinstance(item, (list, tuple)) and len(item) >= 2:
                pairs.append((str(item[0] or "unknown"), float(item[1] or 0)))
    return sorted(pairs, key=lambda kv: -kv[1])


def _volume(v: Any) -> float:
    if isinstance(v, dict):
        return float(v.get("volume") or v.get("count") or 0)
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def _has_rankings(session: Session) -> bool:
    mod = _module("voc.models.insights")
    model = getattr(mod, "Ranking", None) if mod else None
    if model is None:
        return False
    return session.scalar(select(model.id).limit(1)) is not None


def _filtered(stmt, *, market=None, channel=None, kind=None):  # noqa: ANN001, ANN202
    if market:
        stmt = stmt.where(Feedback.market == market)
    if channel:
        stmt = stmt.where(Feedback.channel == channel)
    if kind:
        stmt = stmt.where(Feedback.kind == kind)
    return stmt


def _fallback_ranking(session: Session, settings: Settings, week: str, *, market=None,  # noqa: ANN001
                      channel=None, kind=None, limit=None) -> list[dict[str, Any]]:
    """Topics by volume from the feedback table (used until the insights step has run)."""
    tz = settings.timezone
    weeks = [shift_week(week, -k) for k in range(FALLBACK_WEEKS - 1, -1, -1)]
    start, _ = week_bounds(weeks[0], tz)
    _, end = week_bounds(week, tz)
    stmt = _filtered(
        select(Feedback.topic_id, Feedback.created_at, Feedback.market, Feedback.sentiment_label,
               Feedback.csat)
        .where(Feedback.topic_id.is_not(None), Feedback.created_at >= start,
               Feedback.created_at < end), market=market, channel=channel, kind=kind)
    per_week: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stats: dict[int, dict[str, Any]] = defaultdict(lambda: {"neg": 0, "sent": 0, "csat": [],
                                                            "markets": defaultdict(int)})
    for tid, created, mkt, label, csat in session.execute(stmt):
        wk = iso_week(created, tz)
        per_week[tid][wk] += 1
        if wk == week:
            s = stats[tid]
            if label in ("negative", "neutral", "positive"):
                s["sent"] += 1
                s["neg"] += label == "negative"
            if csat is not None:
                s["csat"].append(csat)
            if mkt:
                s["markets"][mkt] += 1
    topics = {t.id: t for t in session.scalars(select(Topic).where(Topic.id.in_(list(per_week))))}
    items = []
    for tid, counts in per_week.items():
        topic = topics.get(tid)
        vol = counts.get(week, 0)
        if topic is None or topic.hidden or topic.status == "merged" or vol == 0:
            continue
        prior = [counts.get(w, 0) for w in weeks[:-1]]
        base = sum(prior) / len(prior) if prior else 0
        s = stats[tid]
        items.append({
            "topic_id": tid, "label": topic.display_label, "volume": vol, "score": float(vol),
            "baseline": base, "change": ((vol - base) / base) if base else None,
            "negative_share": (s["neg"] / s["sent"]) if s["sent"] else None,
            "csat": (sum(s["csat"]) / len(s["csat"])) if s["csat"] else None,
            "markets": [m for m, _ in sorted(s["markets"].items(), key=lambda kv: -kv[1])][:5],
            "flags": [], "reasons": [f"{vol} items this week (simple volume ranking: the "
                                     "insights step has not produced a ranking yet)"],
            "sparkline": [counts.get(w, 0) for w in weeks],
            "prev_volume": counts.get(weeks[-2], 0) if len(weeks) > 1 else 0,
        })
    items.sort(key=lambda i: (-i["volume"], i["label"]))
    prev_order = sorted([i for i in items if i["prev_volume"]], key=lambda i: -i["prev_volume"])
    prev_rank = {i["topic_id"]: n for n, i in enumerate(prev_order, start=1)}
    for n, item in enumerate(items, start=1):
        item["rank"] = n
        pr = prev_rank.get(item["topic_id"])
        item["rank_change"] = None if pr is None else pr - n
    return items[:limit] if limit else items


def _fallback_trend(session: Session, settings: Settings, topic_id: int, week: str | None,
                    n: int) -> list[dict[str, Any]]:
    tz = settings.timezone
    last = week or available_weeks(session, settings)[:1] or [iso_week(datetime.now(UTC), tz)]
    last = last if isinstance(last, str) else last[0]
    weeks = [shift_week(last, -k) for k in range(n - 1, -1, -1)]
    start, _ = week_bounds(weeks[0], tz)
    _, end = week_bounds(last, tz)
    rows = session.execute(select(Feedback.created_at, Feedback.sentiment_label, Feedback.csat)
                           .where(Feedback.topic_id == topic_id, Feedback.created_at >= start,
                                  Feedback.created_at < end))
    acc = {w: {"volume": 0, "neg": 0, "sent": 0, "csat": []} for w in weeks}
    for created, label, csat in rows:
        a = acc.get(iso_week(created, tz))
        if a is None:
            continue
        a["volume"] += 1
        if label in ("negative", "neutral", "positive"):
            a["sent"] += 1
            a["neg"] += label == "negative"
        if csat is not None:
            a["csat"].append(csat)
    return [{"week": w, "volume": a["volume"],
             "negative_share": a["neg"] / a["sent"] if a["sent"] else None,
             "csat": sum(a["csat"]) / len(a["csat"]) if a["csat"] else None}
            for w, a in acc.items()]


def _fallback_breakdown(session: Session, settings: Settings, topic_id: int,
                        week: str | None) -> dict[str, list[tuple[str, float]]]:
    where = [Feedback.topic_id == topic_id]
    if week:
        start, end = week_bounds(week, settings.timezone)
        where += [Feedback.created_at >= start, Feedback.created_at < end]
    out = {}
    for key, col in (("markets", Feedback.market), ("channels", Feedback.channel),
                     ("kinds", Feedback.kind)):
        rows = session.execute(select(col, func.count()).where(*where).group_by(col))
        out[key] = sorted(((str(k or "unknown"), float(n)) for k, n in rows), key=lambda kv: -kv[1])
    return out


_DISTINCT_CACHE: dict[str, tuple[float, dict[str, list[str]]]] = {}
_DISTINCT_TTL_S = 300.0


def distinct_values(session: Session) -> dict[str, list[str]]:
    """Values for filter drop-downs (markets, channels, languages, kinds, sources).

    Read from the small rollup table when it exists (a DISTINCT over millions of feedback
    rows is a full scan), and cached per process for a few minutes.
    """
    import time

    bind = session.get_bind()
    key = str(getattr(bind, "url", None) or getattr(bind, "engine", bind).url)
    hit = _DISTINCT_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < _DISTINCT_TTL_S:
        return hit[1]
    out: dict[str, list[str]] = {}
    mod = _module("voc.models.insights")
    rollup = getattr(mod, "RollupSlice", None) if mod else None
    use_rollup = rollup is not None and session.scalar(select(rollup.week).limit(1)) is not None
    cols = (("markets", "market"), ("channels", "channel"), ("kinds", "kind"))
    for name, attr in cols:
        col = getattr(rollup, attr) if use_rollup else getattr(Feedback, attr)
        out[name] = sorted(v for v in session.scalars(select(col).distinct()) if v)
    # Languages are not in the rollups; a sample of recent rows is enough for a drop-down.
    recent = select(Feedback.language).order_by(Feedback.id.desc()).limit(20000).subquery()
    out["languages"] = sorted(v for v in session.scalars(select(recent.c.language).distinct()) if v)
    out["sources"] = sorted(session.scalars(select(Source.name)))
    _DISTINCT_CACHE[key] = (time.monotonic(), out)
    return out


def clear_cache() -> None:
    """Forget cached drop-down values and policy titles (tests, after big imports)."""
    _DISTINCT_CACHE.clear()
    _TITLES_CACHE.clear()
    _WEEKS_CACHE.clear()

