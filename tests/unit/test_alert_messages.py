"""Message rendering, signed unsubscribe tokens and target schemas (no database)."""

from __future__ import annotations

import json

import pytest

from voc import config
from voc.alerts.messages import (
    AlertContent,
    DigestContent,
    DigestRow,
    Example,
    render_alert,
    render_digest,
)
from voc.alerts.notifiers import TargetError, notifier_types, public_config, validate_target
from voc.alerts.notifiers.webhook import sign, verify
from voc.alerts.tokens import make_token, read_token, unsubscribe_url

SETTINGS = config.load({}, secret_key="k1", base_url="https://voc.example.com/")


def _content() -> AlertContent:
    return AlertContent(
        subscription_id=4, subscription_name="Payments team", week="2026-W47",
        reason="flagged surge: volume 120 vs 30 expected (x4.0)",
        topic_url="https://voc.example.com/topics/7?week=2026-W47",
        unsubscribe_url="https://voc.example.com/alerts/unsubscribe/tok",
        manage_url="https://voc.example.com/alerts/subscriptions", topic_id=7,
        label="card declined abroad", reasons=["volume 120 vs 30 expected (x4.0)"],
        flags=["surge"], numbers={"volume": 120, "baseline": 30.0, "change": 3.0,
                                  "negative_share": 0.8},
        examples=[Example(1, "My card <b>was</b> declined in Paris", "FR", "email"),
                  Example(2, "declined again <script>alert(1)</script>", "DE", None),
                  Example(3, "why is my card blocked abroad?")])


def test_alert_has_label_numbers_verbatims_links_in_every_part() -> None:
    msg = render_alert(_content())
    assert msg.subject.startswith("[voc] card declined abroad: flagged surge")
    for part in (msg.text, msg.html):
        assert "card declined abroad" in part
        assert "120 items this week (baseline 30.0)" in part
        assert "negative 80%" in part
        assert "https://voc.example.com/topics/7?week=2026-W47" in part
        assert "https://voc.example.com/alerts/unsubscribe/tok" in part
    assert "My card <b>was</b> declined in Paris" in msg.text
    # Customer text is escaped in HTML.
    assert "<script>" not in msg.html and "&lt;script&gt;" in msg.html
    assert "&lt;b&gt;was&lt;/b&gt;" in msg.html


def test_webhook_body_is_slack_and_teams_compatible_with_machine_part() -> None:
    body = render_alert(_content()).webhook
    assert isinstance(body["text"], str) and "card declined abroad" in body["text"]
    assert body["blocks"][0]["type"] == "header"
    assert body["@type"] == "MessageCard" and body["summary"]
    voc = body["voc"]
    assert voc["topic_id"] == 7 and voc["week"] == "2026-W47" and voc["flags"] == ["surge"]
    assert [e["feedback_id"] for e in voc["examples"]] == [1, 2, 3]
    # Slack mrkdwn control characters from customer text are neutralised.
    quotes = body["blocks"][2]["text"]["text"]
    assert "<script>" not in quotes and "&lt;script&gt;" in quotes
    json.dumps(body)  # serialisable


def test_digest_lists_subscribed_and_top() -> None:
    row = DigestRow(topic_id=7, label="card declined abroad", url="u7", rank=1, rank_change=2,
                    volume=120, change=3.0, flags=["surge"])
    other = DigestRow(topic_id=9, label="delivery times", url="u9", rank=2, volume=60,
                      change=0.09)
    msg = render_digest(DigestContent(user_id=1, username="ann", week="2026-W47",
                                      ranking_url="r", unsubscribe_url="unsub", manage_url="m",
                                      subscribed=[row], top=[row, other], alerts_this_week=2))
    assert "Weekly digest 2026-W47" in msg.subject
    assert "card declined abroad: 120 items, change +300%, rank #1 (+2) [surge]" in msg.text
    assert "2. delivery times: 60 items, change +9%" in msg.text
    assert "unsub" in msg.html and "Alerts sent to you this week: 2" in msg.text


def test_unsubscribe_tokens_are_signed() -> None:
    tok = make_token(SETTINGS, "subscription", 42)
    assert read_token(SETTINGS, tok).id == 42
    assert read_token(SETTINGS, tok).kind == "subscription"
    assert read_token(SETTINGS, make_token(SETTINGS, "digest", 3)).kind == "digest"
    assert read_token(SETTINGS, tok[:-2] + "xx") is None
    assert read_token(SETTINGS.replace(secret_key="other"), tok) is None
    assert read_token(SETTINGS, "garbage") is None
    assert unsubscribe_url(SETTINGS, "subscription", 42).startswith(
        "https://voc.example.com/alerts/unsubscribe/")


def test_target_schemas_validate_on_save() -> None:
    assert set(notifier_types()) == {"email", "webhook", "in_app"}
    assert validate_target({"type": "email", "config": {"addresses": "a@x.org, b@y.com"}}) == {
        "type": "email", "config": {"addresses": ["a@x.org", "b@y.com"]}}
    assert validate_target({"type": "in_app"}) == {"type": "in_app", "config": {}}
    hook = validate_target({"type": "webhook",
                            "config": {"url": " https://hooks.slack.com/services/T/B/X ",
                                       "secret": "s3"}})
    assert hook["config"]["url"] == "https://hooks.slack.com/services/T/B/X"
    shown = public_config(hook)
    assert shown["config"]["secret"] == "********" and shown["description"] == \
        "webhook: hooks.slack.com"
    for bad, msg in (({"type": "email", "config": {"addresses": ["nope"]}}, "not an email"),
                     ({"type": "webhook", "config": {}}, "required"),
                     ({"type": "webhook", "config": {"url": "ftp://x"}}, "http"),
                     ({"type": "webhook", "config": {"url": "https://x", "extra": 1}},
                      "unknown field"),
                     ({"type": "sms", "config": {}}, "unknown target type")):
        with pytest.raises(TargetError, match=msg):
            validate_target(bad)


def test_signature_round_trip() -> None:
    body = b'{"a":1}'
    header = sign("secret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify("secret", body, header)
    assert not verify("secret", body + b" ", header)
    assert not verify("other", body, header)


def test_webhook_host_allow_list() -> None:
    from voc.alerts.notifiers.webhook import host_allowed

    assert host_allowed("127.0.0.1", "")
    assert host_allowed("hooks.slack.com", "hooks.slack.com, .webhook.office.com")
    assert host_allowed("acme.webhook.office.com", "hooks.slack.com,.webhook.office.com")
    assert not host_allowed("evil-hooks.slack.com", "hooks.slack.com")
    assert not host_allowed("127.0.0.1", "hooks.slack.com")
