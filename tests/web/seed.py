"""A small, real dataset for web tests: sources, topics, feedback with enrichment, users.

Includes an XSS corpus in feedback text, topic labels and keywords. Used by tests/web and
tests/e2e (plain functions, so a live-server test can seed a fresh database too).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from voc import accounts
from voc.models.feedback import Feedback, Quarantine, Source
from voc.models.runs import PipelineRun
from voc.models.topics import Topic
from voc.models.users import User

PASSWORD = "correct-horse-1"
# Seeded users get a cheap (low-iteration) hash so that tests that log in many times stay
# fast on a busy machine; check_password_hash verifies any werkzeug method, and users
# created through voc.users / the CLI / the admin page get scrypt.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
ROLES = ("viewer", "analyst", "admin")

XSS = [
    "<script>alert('xss1')</script>",
    "<img src=x onerror=alert('xss2')>",
    "<a href=\"javascript:alert('xss3')\">click</a>",
    "<svg onload=alert('xss4')><circle r=1 /></svg>",
    "\"><iframe src=javascript:alert('xss5')>",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+SUM(1,2)", "-2+3", "@cmd|' /C calc'!A0",
]
#: Markers that must never appear unescaped in any rendered page.
XSS_LIVE_MARKERS = ["<script>alert", "<img src=x onerror", "<svg onload", "<iframe",
                    'href="javascript:', "<a href=\"javascript"]

# The newest week of the dataset (a fixed past week, so tests do not depend on today).
END = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # Wednesday of 2026-W47


@dataclass
class Seed:
    """Ids and facts the tests assert against."""

    source_ids: dict[str, int] = field(default_factory=dict)
    topic_ids: dict[str, int] = field(default_factory=dict)
    feedback_ids: list[int] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    week: str = "2026-W47"
    n_feedback: int = 0


TOPICS = [
    ("refund", "Refund delays", ["refund", "money", "late"]),
    ("delivery", "Late delivery", ["courier", "parcel", "late"]),
    ("app", "App login fails", ["login", "password", "app"]),
    ("xss", "<script>alert('topic')</script><img src=x onerror=alert(1)>",
     ["<svg onload=alert('kw')>", "javascript:alert(2)"]),
]

TEXTS = {
    "refund": ["My refund is three weeks late and nobody answers",
               "Still waiting for the refund of my returned shoes",
               "Refund arrived quickly, thanks"],
    "delivery": ["The courier left the parcel at the wrong address",
                 "Parcel delivery was late again, very annoying",
                 "Delivered on time, great courier"],
    "app": ["I cannot login to the app since the update",
            "App login fails with my password reset link",
            "The new app design looks nice"],
    "xss": XSS,
}


def seed(session: Session, *, with_users: bool = True, weeks: int = 4) -> Seed:
    """Insert the dataset (flushes, does not commit)."""
    out = Seed()
    for name, kind in (("zendesk", "ticket"), ("nps", "survey")):
        src = Source(name=name, type="file", kind=kind, settings={}, cursor={})
        session.add(src)
        session.flush()
        out.source_ids[name] = src.id
    for key, label, keywords in TOPICS:
        t = Topic(label=label, keywords=keywords, size=0, status="active", hidden=False,
                  lineage=[{"event": "created", "at": "2026-10-01"}],
                  first_seen=END - timedelta(weeks=weeks))
        session.add(t)
        session.flush()
        out.topic_ids[key] = t.id
    rows = []
    markets = ["DE", "FR", "GB"]
    channels = ["email", "bot", "human_agent"]
    n = 0
    for w in range(weeks):
        for key, texts in TEXTS.items():
            # the refund topic grows in the newest week
            repeat = 4 if key == "refund" and w == 0 else 1
            for r in range(repeat):
                for i, text in enumerate(texts):
                    n += 1
                    neg = i < len(texts) - 1
                    src = "zendesk" if n % 3 else "nps"
                    rows.append({
                        "source_id": out.source_ids[src], "external_id": f"{key}-{w}-{r}-{i}",
                        "kind": "ticket" if src == "zendesk" else "survey",
                        "channel": channels[n % 3], "market": markets[n % 3],
                        "language": "en", "language_detected": False,
                        "csat": 1 if neg else 5, "nps": None,
                        "escalated": n % 4 == 0, "resolved": not neg, "sla_breached": False,
                        "product_area": "payments" if key == "refund" else None,
                        "tags": ["t1"], "customer_hash": hashlib.sha256(f"c{n}".encode())
                        .hexdigest(),
                        "created_at": END - timedelta(weeks=w, hours=n % 48),
                        "text": text, "text_raw": "RAW-SECRET " + text,
                        "content_hash": hashlib.sha256(f"{key}{w}{r}{i}".encode()).hexdigest(),
                        "attributes": {}, "sentiment_score": -0.6 if neg else 0.7,
                        "sentiment_label": "negative" if neg else "positive",
                        "sentiment_backend": "vader", "pain_quote": text[:60] if neg else None,
                        "enriched_at": END, "topic_id": out.topic_ids[key], "topic_score": 0.8,
                        "topic_locked": False, "topic_assigned_at": END,
                    })
    session.execute(insert(Feedback), rows)
    out.n_feedback = len(rows)
    for key in out.topic_ids:
        session.get(Topic, out.topic_ids[key]).size = sum(1 for r in rows
                                                           if r["topic_id"] == out.topic_ids[key])
    session.add(PipelineRun(job="ingest", trigger="manual", status="success", duration_s=1.5,
                            counts={"stored": len(rows)}, finished_at=END))
    session.add(PipelineRun(job="enrich", trigger="scheduler", status="failed", duration_s=0.2,
                            error="ValueError: <script>alert('err')</script>", finished_at=END))
    session.add(Quarantine(source_name="zendesk", external_id="bad-1", location="file.csv:7",
                           reason="created_at: not a date", raw_payload="{\"text\": "
                           "\"<img src=x onerror=alert('q')>\"}", status="open"))
    if with_users:
        for role in ROLES:
            u = User(username=role, role=role, active=True, password_hash=_HASH)
            session.add(u)
            session.flush()
            out.users[role] = u.id
            out.tokens[role] = accounts.issue_token(session, role, "test").token
    session.flush()
    compute_insights(session)  # the real rollups and rankings
    return out


def compute_insights(session: Session, settings=None) -> None:  # noqa: ANN001
    """Run the insights rollups and ranking on the seeded data."""
    from voc import config as voc_config
    from voc.insights import ranking, rollups
    from voc.models.insights import TopicPolicy

    settings = settings or voc_config.load({}, env="test", min_volume=1)
    # Map topics to policies directly (the real mapping embeds text with a model).
    session.add_all([TopicPolicy(topic_id=tid, policy=policy, similarity=0.9)
                     for tid, policy in _policy_map(session)])
    session.flush()
    rollups.refresh(session, settings)
    for week in ranking.weeks_to_rank(session, settings):
        ranking.rank_week(session, settings, week)
    session.flush()


def _policy_map(session: Session) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from voc import config as voc_config
    from voc.insights.policies import load_policies

    names = [p.name for p in load_policies(voc_config.load({}, env="test"))]
    topics = dict(session.execute(select(Topic.label, Topic.id)).all())
    out = []
    if names and "Refund delays" in topics:
        out.append((topics["Refund delays"], names[0]))
    if len(names) > 1 and "Late delivery" in topics:
        out.append((topics["Late delivery"], names[1]))
    return out
