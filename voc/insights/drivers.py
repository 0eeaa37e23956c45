"""Drivers of a topic: what fixing it would be worth.

* ``csat_impact``: how much the overall mean CSAT would rise without this topic's responses,
  ``mean(all responses except the topic's) - mean(all responses)``. Positive = the topic drags
  CSAT down.
* ``automation_opportunity``: ``volume x bot-escalation rate`` (hand-overs from a bot or AI
  agent to a person, scaled to the topic's whole volume): where a knowledge-base article or a
  bot flow would remove the most hand-overs.
"""

from __future__ import annotations

from voc.insights.sums import Sums


def csat_impact(topic: Sums, overall: Sums) -> float | None:
    """Overall mean CSAT without the topic's responses minus the overall mean (None if n/a)."""
    if not overall.csat_n or not topic.csat_n:
        return None
    rest_n = overall.csat_n - topic.csat_n
    if rest_n <= 0:
        return None
    without = (overall.csat_sum - topic.csat_sum) / rest_n
    return without - overall.csat_sum / overall.csat_n


def automation_opportunity(topic: Sums) -> float:
    """Topic volume x its bot/AI-agent escalation rate (0 when it has no bot traffic)."""
    rate = topic.escalation_rate
    return topic.volume * rate if rate is not None else 0.0


def drivers(topic: Sums, overall: Sums) -> dict:
    """Both drivers plus the rates behind them, JSON-friendly."""
    impact = csat_impact(topic, overall)
    return {
        "csat_impact": None if impact is None else round(impact, 4),
        "automation_opportunity": round(automation_opportunity(topic), 2),
        "escalation_rate": _r(topic.escalation_rate),
        "bot_items": topic.esc_base,
        "escalations": topic.esc_n,
        "csat": _r(topic.csat),
        "csat_responses": topic.csat_n,
        "overall_csat": _r(overall.csat),
        "resolution_rate": _r(topic.resolution_rate),
        "sla_breach_rate": _r(topic.sla_breach_rate),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
