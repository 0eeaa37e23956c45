"""Pure alert rules: a subscription's rule + one week's ranking rows -> what fires and why.

Nothing here touches the database or the clock except through arguments, so the
rules are unit-tested on plain dicts. Ranking rows are the dicts of
``voc.insights.ranking.load_ranking(...).items`` (rank, topic_id, label, volume,
baseline, change, flags, negative_share, csat, markets, reasons, flag_details, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SCOPES = ("all", "topics", "policies", "markets", "search")
CONDITIONS = ("emerging", "threshold", "search")
METRICS = ("volume", "negative_share", "change", "csat")
#: CSAT is a "lower is worse" metric: its threshold fires when the value drops to it or below.
LOWER_IS_WORSE = {"csat"}
SEARCH_FILTERS = ("q", "market", "channel", "language", "sentiment", "csat", "topic")


class RuleError(ValueError):
    """A subscription rule is malformed; the message says which part."""


@dataclass(frozen=True)
class Rule:
    """A subscription's scope and condition in plain form."""

    scope_kind: str = "topics"
    topic_ids: frozenset[int] = frozenset()
    policies: frozenset[str] = frozenset()
    markets: frozenset[str] = frozenset()
    search: Mapping[str, Any] = field(default_factory=dict)
    condition: str = "emerging"
    flags: frozenset[str] = frozenset()  # empty = any flag
    metric: str = "volume"
    threshold: float | None = None
    min_matches: int = 1


@dataclass(frozen=True)
class Match:
    """One topic for which the rule fires, with a human-readable reason."""

    topic_id: int
    label: str
    reason: str
    item: Mapping[str, Any]


def rule_from_parts(scope_kind: str, scope: Mapping[str, Any],
                    condition: Mapping[str, Any]) -> Rule:
    """Build and validate a :class:`Rule` from a subscription's JSON columns."""
    if scope_kind not in SCOPES:
        raise RuleError(f"scope must be one of {', '.join(SCOPES)}")
    ctype = str(condition.get("type") or ("search" if scope_kind == "search" else "emerging"))
    if ctype not in CONDITIONS:
        raise RuleError(f"condition must be one of {', '.join(CONDITIONS)}")
    if (ctype == "search") != (scope_kind == "search"):
        raise RuleError("a saved-search subscription uses the 'search' condition (and only it)")
    try:
        topic_ids = frozenset(int(t) for t in scope.get("topic_ids") or [])
    except (TypeError, ValueError):
        raise RuleError("topic ids must be integers") from None
    policies = frozenset(str(p).strip() for p in scope.get("policies") or [] if str(p).strip())
    markets = frozenset(str(m).strip().upper() for m in scope.get("markets") or []
                        if str(m).strip())
    if scope_kind == "topics" and not topic_ids:
        raise RuleError("choose at least one topic")
    if scope_kind == "policies" and not policies:
        raise RuleError("choose at least one policy")
    if scope_kind == "markets" and not markets:
        raise RuleError("choose at least one market")
    search = {k: v for k, v in dict(scope.get("search") or {}).items()
              if k in SEARCH_FILTERS and v not in (None, "", [])}
    if scope_kind == "search" and not search:
        raise RuleError("a saved search needs a query or at least one filter")
    metric = str(condition.get("metric") or "volume")
    threshold = condition.get("threshold")
    if ctype == "threshold":
        if metric not in METRICS:
            raise RuleError(f"metric must be one of {', '.join(METRICS)}")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise RuleError("a threshold condition needs a numeric threshold") from None
        if metric == "negative_share" and not 0 <= threshold <= 1:
            raise RuleError("a negative-share threshold is a fraction between 0 and 1")
    try:
        min_matches = max(1, int(condition.get("min_matches") or 1))
    except (TypeError, ValueError):
        raise RuleError("min_matches must be an integer") from None
    flags = frozenset(str(f) for f in condition.get("flags") or [])
    return Rule(scope_kind=scope_kind, topic_ids=topic_ids, policies=policies, markets=markets,
                search=search, condition=ctype, flags=flags, metric=metric,
                threshold=None if threshold is None else float(threshold),
                min_matches=min_matches)


def _item_markets(item: Mapping[str, Any]) -> set[str]:
    """Market codes of a ranking row, whatever shape ``markets`` has (list, dicts, mapping)."""
    raw = item.get("markets") or []
    if isinstance(raw, Mapping):
        return {str(k).upper() for k in raw}
    out: set[str] = set()
    for m in raw:
        if isinstance(m, Mapping):
            code = m.get("market") or m.get("code")
            if code:
                out.add(str(code).upper())
        elif m:
            out.add(str(m).upper())
    return out


def in_scope(rule: Rule, item: Mapping[str, Any],
             topic_policies: Mapping[int, Iterable[str]] | None = None) -> bool:
    """Whether a ranking row belongs to the rule's scope."""
    if rule.scope_kind == "all":
        return True
    if rule.scope_kind == "topics":
        return int(item.get("topic_id", -1)) in rule.topic_ids
    if rule.scope_kind == "policies":
        own = set(item.get("policies") or [])
        if topic_policies is not None:
            own |= set(topic_policies.get(int(item.get("topic_id", -1)), ()))
        return bool(own & rule.policies)
    if rule.scope_kind == "markets":
        return bool(_item_markets(item) & rule.markets)
    return False


def _fmt(metric: str, value: float) -> str:
    if metric == "negative_share":
        return f"{value:.0%}"
    if metric == "change":
        return f"{value:+.0%}" if abs(value) < 10 else f"x{value:.1f}"
    if metric == "csat":
        return f"{value:.2f}"
    return f"{value:g}"


def condition_met(rule: Rule, item: Mapping[str, Any]) -> str | None:
    """The reason the condition holds for ``item``, or None (emerging / threshold rules)."""
    if rule.condition == "emerging":
        flags = [str(f) for f in item.get("flags") or []]
        hit = [f for f in flags if not rule.flags or f in rule.flags]
        if not hit:
            return None
        reasons = [str(r) for r in item.get("reasons") or []]
        detail = "; ".join(reasons[:3]) if reasons else ""
        text = f"flagged {', '.join(hit)}"
        return f"{text}: {detail}" if detail else text
    if rule.condition == "threshold" and rule.threshold is not None:
        value = item.get(rule.metric)
        if value is None:
            return None
        value = float(value)
        label = rule.metric.replace("_", " ")
        if rule.metric in LOWER_IS_WORSE:
            if value <= rule.threshold:
                return (f"{label} {_fmt(rule.metric, value)} is at or below "
                        f"{_fmt(rule.metric, rule.threshold)}")
            return None
        if value >= rule.threshold:
            return (f"{label} {_fmt(rule.metric, value)} reached the threshold "
                    f"{_fmt(rule.metric, rule.threshold)}")
    return None


def evaluate(rule: Rule, items: Sequence[Mapping[str, Any]],
             topic_policies: Mapping[int, Iterable[str]] | None = None) -> list[Match]:
    """Topics of one week's ranking for which ``rule`` fires, in ranking order."""
    if rule.condition == "search":
        return []  # saved searches are matched against new verbatims, see evaluate_search
    out = []
    for item in items:
        if item.get("topic_id") is None or not in_scope(rule, item, topic_policies):
            continue
        reason = condition_met(rule, item)
        if reason:
            out.append(Match(int(item["topic_id"]), str(item.get("label") or ""), reason, item))
    return out


def evaluate_search(rule: Rule, new_matches: int) -> str | None:
    """The reason a saved search fires for ``new_matches`` new verbatims, or None."""
    if rule.condition != "search" or new_matches < rule.min_matches:
        return None
    if new_matches == 1:
        return "1 new verbatim matches the saved search"
    return f"{new_matches} new verbatims match the saved search"


def should_fire(last_fired_at: datetime | None, now: datetime, quiet_hours: int) -> bool:
    """True unless the rule fired less than ``quiet_hours`` ago (the quiet period)."""
    if last_fired_at is None:
        return True
    return now - last_fired_at >= timedelta(hours=max(0, quiet_hours))
