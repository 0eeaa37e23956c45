"""Saved-search alerts, the weekly digest, and subscription validation on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from voc.alerts.digest import is_due, send_due_digests
from voc.alerts.service import run_alerts
from voc.alerts.subscriptions import (
    SubscriptionError,
    create_subscription,
    subscription_dict,
    unsubscribe,
    update_subscription,
)
from voc.alerts.tokens import make_token
from voc.models.alerts import AlertDelivery
from voc.models.feedback import Feedback

from .conftest import NOW, WEEK, Planted


def _add_feedback(session, planted: Planted, texts: list[str], market: str = "FR") -> None:  # noqa: ANN001
    src_id = planted.surge_feedback[0].source_id
    n = session.query(Feedback).count()
    session.add_all([Feedback(source_id=src_id, external_id=f"new{n + i}", kind="ticket",
                              channel="email", market=market, language="en",
                              created_at=NOW, text=t, content_hash=f"n{n + i}")
                     for i, t in enumerate(texts)])
    session.commit()


def test_saved_search_alerts_on_new_matches_only_once(session, planted, alert_settings,
                                                      webhook_server, session_factory) -> None:  # noqa: ANN001
    sub = create_subscription(session, planted.user.id, {
        "scope_kind": "search", "scope": {"search": {"q": "Refund", "market": "fr"}},
        "condition": {"type": "search"}, "quiet_hours": 0,
        "targets": [{"type": "webhook", "config": {"url": webhook_server.base + "/ok"}}]})
    session.commit()
    assert sub.scope["search"] == {"q": "Refund", "market": "fr"}
    # History does not alert: only verbatims that arrive after the subscription.
    assert run_alerts(session_factory, alert_settings, week=WEEK, now=NOW).fired == 0

    _add_feedback(session, planted, ["I want a refund now", "no REFUND after 3 weeks",
                                     "refund please"], market="FR")
    _add_feedback(session, planted, ["refund in Germany"], market="DE")  # filtered out
    first = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert (first.fired, first.sent) == (1, 1)
    [req] = webhook_server.on("/ok")
    voc = req["json"]["voc"]
    assert voc["event"] == "search_alert" and voc["reason"] == \
        "3 new verbatims match the saved search"
    assert len(voc["examples"]) == 3 and all("refund" in e["text"].lower()
                                             for e in voc["examples"])
    assert "/verbatims?" in voc["topic_url"] and "q=Refund" in voc["topic_url"]
    # Re-run: nothing new.
    assert run_alerts(session_factory, alert_settings, week=WEEK, now=NOW).fired == 0
    # A later match alerts again (quiet period 0 here).
    _add_feedback(session, planted, ["refund still missing"], market="FR")
    again = run_alerts(session_factory, alert_settings, week=WEEK,
                       now=NOW + dt.timedelta(hours=1))
    assert again.sent == 1
    assert webhook_server.on("/ok")[-1]["json"]["voc"]["reason"] == \
        "1 new verbatim matches the saved search"


def test_digest_once_per_user_per_week_on_the_configured_day(
        session, planted, alert_settings, smtp_server, session_factory) -> None:  # noqa: ANN001
    for user in (planted.user, planted.other):
        create_subscription(session, user.id, {
            "scope_kind": "topics", "scope": {"topic_ids": [planted.surge.id]},
            "condition": {"type": "emerging"}, "targets": [{"type": "in_app"}]})
    create_subscription(session, planted.other.id, {
        "scope_kind": "all", "condition": {"type": "emerging"}, "include_in_digest": False,
        "targets": [{"type": "in_app"}]})
    session.commit()
    s = alert_settings.replace(digest_weekday=0, digest_hour=8)
    monday_early = NOW.replace(hour=7)
    assert not is_due(s, monday_early)
    assert is_due(s, NOW) and is_due(s, NOW + dt.timedelta(days=3))
    assert send_due_digests(session_factory, s, monday_early).enqueued == 0
    assert smtp_server.messages == []

    res = send_due_digests(session_factory, s, NOW)
    assert (res.users, res.enqueued, res.sent) == (2, 2, 2)
    msgs = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in msgs) == ["ann@example.com", "bob@example.com"]
    text = msgs[0].get_body(("plain",)).get_content()
    assert "Your topics:" in text and "card declined abroad: 5 items" in text
    assert "Top of the ranking:" in text and "delivery times" in text
    assert "/api/v1/unsubscribe/" in msgs[0]["List-Unsubscribe"]
    assert "/alerts/unsubscribe/" in text
    # Later the same week (scheduler runs hourly): nothing more.
    assert send_due_digests(session_factory, s, NOW + dt.timedelta(days=2)).enqueued == 0
    assert len(smtp_server.messages) == 2
    # Digest unsubscribe link: bob stops getting digests, ann still does next week.
    assert unsubscribe(session, s, make_token(s, "digest", planted.other.id)) == \
        "the weekly digest"
    session.commit()
    nxt = send_due_digests(session_factory, s, NOW + dt.timedelta(days=7))
    assert nxt.users == 1 and nxt.sent == 1
    assert smtp_server.wait_for(3)[-1]["To"] == "ann@example.com"
    kinds = session.scalars(select(AlertDelivery.kind)).all()
    assert kinds == ["digest"] * 3


def test_subscription_validation_and_secret_masking(session, planted) -> None:  # noqa: ANN001
    with pytest.raises(SubscriptionError, match="target 1: not an email"):
        create_subscription(session, planted.user.id, {
            "scope_kind": "all", "targets": [{"type": "email",
                                              "config": {"addresses": ["bad"]}}]})
    with pytest.raises(SubscriptionError, match="at least one delivery target"):
        create_subscription(session, planted.user.id, {"scope_kind": "all", "targets": []})
    with pytest.raises(SubscriptionError, match="csat"):
        create_subscription(session, planted.user.id, {
            "scope_kind": "search", "scope": {"search": {"csat": "9"}},
            "condition": {"type": "search"}, "targets": [{"type": "in_app"}]})
    sub = create_subscription(session, planted.user.id, {
        "scope_kind": "topics", "scope": {"topic_ids": [planted.surge.id]},
        "targets": [{"type": "webhook", "config": {"url": "https://hooks.example.com/x",
                                                   "secret": "topsecret"}}]})
    shown = subscription_dict(sub)
    assert shown["targets"][0]["config"]["secret"] == "********"
    assert "topsecret" not in str(shown)
    # Saving the masked form back keeps the stored secret.
    update_subscription(session, sub, {"targets": shown["targets"], "quiet_hours": 5})
    assert sub.targets[0]["config"]["secret"] == "topsecret" and sub.quiet_hours == 5
    assert sub.name == f"emerging: topics {planted.surge.id}"
