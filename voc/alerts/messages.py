"""Message content: what a product manager needs to act, rendered as text, HTML, webhook JSON.

Everything here is pure: plain dataclasses in, a :class:`Message` out. HTML is
rendered by Jinja2 with autoescaping (verbatims are customer text, i.e. untrusted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_VERBATIM_CHARS = 400


@dataclass
class Example:
    """A representative (already redacted) verbatim quoted in a message."""

    feedback_id: int
    text: str
    market: str | None = None
    channel: str | None = None
    created_at: str | None = None


@dataclass
class AlertContent:
    """Everything an alert about one topic (or one saved search) says."""

    subscription_id: int
    subscription_name: str
    week: str
    reason: str
    topic_url: str
    unsubscribe_url: str
    manage_url: str
    topic_id: int | None = None
    label: str = ""
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)

    @property
    def feedback_ids(self) -> list[int]:
        return [e.feedback_id for e in self.examples]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (stored with the delivery so that erasure can re-render it)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "examples"}
        out["examples"] = [vars(e).copy() for e in self.examples]
        return out


@dataclass
class DigestRow:
    """One line of the digest: a topic and how it moved this week."""

    topic_id: int
    label: str
    url: str
    rank: int | None = None
    rank_change: int | None = None
    volume: int | None = None
    change: float | None = None
    negative_share: float | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class DigestContent:
    """A user's weekly digest: their topics' movements and the top of the ranking."""

    user_id: int
    username: str
    week: str
    ranking_url: str
    unsubscribe_url: str
    manage_url: str
    subscribed: list[DigestRow] = field(default_factory=list)
    top: list[DigestRow] = field(default_factory=list)
    alerts_this_week: int = 0


@dataclass
class Message:
    """A rendered message; ``payload()`` is what the delivery row stores and notifiers send."""

    subject: str
    text: str
    html: str
    webhook: dict[str, Any]
    link: str
    unsubscribe_url: str

    def payload(self) -> dict[str, Any]:
        """Plain dict for the delivery row (shallow: the parts are already plain data)."""
        return {"subject": self.subject, "text": self.text, "html": self.html,
                "webhook": self.webhook, "link": self.link,
                "unsubscribe_url": self.unsubscribe_url}


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["pct"] = _pct
    env.filters["signed_pct"] = _signed_pct
    env.filters["clip"] = _clip
    return env


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0%}"


def _signed_pct(value: Any) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    return f"{value:+.0%}" if abs(value) < 10 else f"x{value + 1:.1f}"


def _clip(text: str, n: int = MAX_VERBATIM_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _numbers_line(numbers: dict[str, Any]) -> str:
    parts = []
    if numbers.get("volume") is not None:
        base = numbers.get("baseline")
        parts.append(f"{numbers['volume']} items this week"
                     + (f" (baseline {float(base):.1f})" if base is not None else ""))
    if numbers.get("change") is not None:
        parts.append(f"change {_signed_pct(numbers['change'])}")
    if numbers.get("negative_share") is not None:
        parts.append(f"negative {_pct(numbers['negative_share'])}")
    if numbers.get("csat") is not None:
        parts.append(f"CSAT {float(numbers['csat']):.2f}")
    if numbers.get("rank") is not None:
        parts.append(f"rank #{numbers['rank']}")
    return "; ".join(parts)


def render_alert(content: AlertContent) -> Message:
    """Subject, plain text, HTML and Slack/Teams-compatible webhook body for one alert."""
    what = content.label or content.subscription_name
    subject = f"[voc] {what}: {content.reason}"[:200]
    numbers_line = _numbers_line(content.numbers)
    ctx = {"c": content, "numbers_line": numbers_line, "subject": subject}
    text = _env().get_template("alert.txt").render(**ctx)
    html = _env().get_template("alert.html").render(**ctx)
    webhook = _alert_webhook(content, subject, numbers_line)
    return Message(subject=subject, text=text, html=html, webhook=webhook,
                   link=content.topic_url, unsubscribe_url=content.unsubscribe_url)


def _mrkdwn_escape(text: str) -> str:
    # Slack mrkdwn control characters; customer text must not inject links or mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _alert_webhook(c: AlertContent, subject: str, numbers_line: str) -> dict[str, Any]:
    quotes = [f"> {_mrkdwn_escape(_clip(e.text, 300))}" for e in c.examples]
    summary = f"{subject}\n{numbers_line}".strip()
    text = (f"*{_mrkdwn_escape(c.label or c.subscription_name)}*: {_mrkdwn_escape(c.reason)}\n"
            f"{numbers_line}\n<{c.topic_url}|Open in voc>")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
    ]
    if quotes:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": "\n".join(quotes)[:2900]}})
    footer = (f"Week {c.week} · subscription “{_mrkdwn_escape(c.subscription_name)}” "
              f"· <{c.unsubscribe_url}|unsubscribe>")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {
        # Slack incoming webhook: text (fallback) + blocks.
        "text": summary,
        "blocks": blocks,
        # Microsoft Teams (Office 365 connector) MessageCard: same "text" plus card fields.
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject[:150],
        "title": subject,
        "themeColor": "D9534F",
        "potentialAction": [{"@type": "OpenUri", "name": "Open in voc",
                             "targets": [{"os": "default", "uri": c.topic_url}]}],
        # Machine-readable part for custom receivers.
        "voc": {
            "event": "topic_alert" if c.topic_id is not None else "search_alert",
            "subscription_id": c.subscription_id,
            "subscription": c.subscription_name,
            "week": c.week,
            "topic_id": c.topic_id,
            "label": c.label,
            "reason": c.reason,
            "reasons": c.reasons,
            "flags": c.flags,
            "numbers": c.numbers,
            "examples": [{"feedback_id": e.feedback_id, "text": e.text, "market": e.market,
                          "channel": e.channel} for e in c.examples],
            "topic_url": c.topic_url,
        },
    }


def render_digest(content: DigestContent) -> Message:
    """Subject, text, HTML and webhook body of a user's weekly digest."""
    subject = f"[voc] Weekly digest {content.week}"
    ctx = {"d": content, "subject": subject}
    text = _env().get_template("digest.txt").render(**ctx)
    html = _env().get_template("digest.html").render(**ctx)
    lines = [f"{r.rank or '-'}. {r.label} ({r.volume or 0}, {_signed_pct(r.change)})"
             for r in content.top]
    webhook = {"text": subject + "\n" + "\n".join(lines),
               "voc": {"event": "digest", "week": content.week,
                       "subscribed": [asdict(r) for r in content.subscribed],
                       "top": [asdict(r) for r in content.top]}}
    return Message(subject=subject, text=text, html=html, webhook=webhook,
                   link=content.ranking_url, unsubscribe_url=content.unsubscribe_url)
