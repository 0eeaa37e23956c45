"""Done-when shape: a planted emerging issue flows rollups -> rank -> alerts and produces one
email and one webhook call, and nothing on a re-run (real insights steps, both databases)."""

from __future__ import annotations

from datetime import timedelta

from pipelines.context import StepContext
from pipelines.runner import run_job
from voc.alerts.notifiers.webhook import verify
from voc.alerts.subscriptions import create_subscription
from voc.insights import weeks as wk
from voc.models.feedback import Feedback, Source
from voc.models.topics import Topic
from voc.models.users import User

WEEKS = wk.week_range("2026-W31", "2026-W40")  # 8 baseline weeks + 2
COMPLAINTS = ["The new card reader rejects my contactless payment",
              "Contactless payment failed three times at the store",
              "Card reader says declined but money was taken",
              "Terminal rejects contactless since the update"]


def _plant(session) -> tuple[User, Topic]:  # noqa: ANN001
    user = User(username="pm", email="pm@example.com", password_hash="x", role="viewer")
    src = Source(name="tickets", type="file", kind="ticket")
    filler, steady, surge = (Topic(label=n) for n in ("account questions", "delivery",
                                                       "contactless payment fails"))
    session.add_all([user, src, filler, steady, surge])
    session.flush()
    rows, n = [], 0
    for i, week in enumerate(WEEKS):
        start, _ = wk.week_bounds(week, "UTC")
        last = i == len(WEEKS) - 1
        for topic, count, sentiment in ((filler, 60, "neutral"), (steady, 15, "neutral"),
                                        (surge, 45 if last else 8,
                                         "negative" if last else "neutral")):
            for j in range(count):
                n += 1
                text = COMPLAINTS[j % len(COMPLAINTS)] if topic is surge else f"item {n}"
                rows.append({"source_id": src.id, "external_id": f"x{n}", "kind": "ticket",
                             "channel": "email", "market": "DE" if j % 2 else "FR",
                             "created_at": start + timedelta(hours=30, minutes=j),
                             "text": text, "content_hash": f"x{n}", "tags": [],
                             "attributes": {}, "sentiment_label": sentiment,
                             "sentiment_score": -0.7 if sentiment == "negative" else 0.0,
                             "topic_id": topic.id})
    session.execute(Feedback.__table__.insert(), rows)
    session.commit()
    return user, surge


def test_planted_emerging_issue_one_email_one_webhook_none_on_rerun(
        session, engine, session_factory, alert_settings, smtp_server, webhook_server) -> None:  # noqa: ANN001
    user, surge = _plant(session)
    create_subscription(session, user.id, {
        "name": "Payments PM", "scope_kind": "topics", "scope": {"topic_ids": [surge.id]},
        "condition": {"type": "emerging"},
        "targets": [{"type": "email", "config": {}},
                    {"type": "webhook", "config": {"url": webhook_server.base + "/ok",
                                                   "secret": "k"}}]})
    session.commit()
    ctx = StepContext(settings=alert_settings, engine=engine, session_factory=session_factory)
    for step in ("rollups", "rank"):
        assert run_job(step, ctx, raise_errors=True).status == "success"
    first = run_job("alerts", ctx, raise_errors=True)
    assert first.counts["week"] == WEEKS[-1]
    assert (first.counts["fired"], first.counts["sent"]) == (1, 2)
    [msg] = smtp_server.wait_for(1)
    assert msg["To"] == "pm@example.com" and "contactless payment fails" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "45 items this week" in text
    assert sum(c in text for c in COMPLAINTS) == 3  # three distinct representative verbatims
    [call] = webhook_server.on("/ok")
    assert verify("k", call["body"], call["headers"]["X-Voc-Signature"])
    assert "surge" in call["json"]["voc"]["flags"]

    # The whole pipeline again: no second email or webhook call.
    for step in ("rollups", "rank", "alerts"):
        run_job(step, ctx, raise_errors=True)
    assert len(smtp_server.messages) == 1 and len(webhook_server.requests) == 1
