"""Alerts end to end against a real SMTP server and a real HTTP receiver, on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from pipelines.context import StepContext
from pipelines.runner import run_job
from voc.alerts import store
from voc.alerts.delivery import claim_due, process_due
from voc.alerts.notifiers.webhook import verify
from voc.alerts.service import run_alerts
from voc.alerts.subscriptions import create_subscription
from voc.models.alerts import AlertDelivery, AlertDeliveryAttempt, AlertState, Notification

from .conftest import NOW, WEEK, Planted


def _sub(session, planted: Planted, targets, **extra):  # noqa: ANN001, ANN202
    data = {"name": "Payments", "scope_kind": "topics",
            "scope": {"topic_ids": [planted.surge.id, planted.steady.id]},
            "condition": {"type": "emerging"}, "targets": targets, **extra}
    sub = create_subscription(session, planted.user.id, data)
    session.commit()
    return sub


def _deliveries(session) -> list[AlertDelivery]:  # noqa: ANN001
    session.expire_all()
    return list(session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


def test_pipeline_step_sends_one_email_and_one_webhook_and_nothing_on_rerun(
        session, planted, alert_settings, smtp_server, webhook_server, engine,
        session_factory) -> None:  # noqa: ANN001
    sub = _sub(session, planted, [
        {"type": "email", "config": {}},
        {"type": "webhook", "config": {"url": webhook_server.base + "/ok", "secret": "hush"}}])
    ctx = StepContext(settings=alert_settings, engine=engine, session_factory=session_factory)

    run = run_job("alerts", ctx, raise_errors=True)
    assert run.status == "success"
    assert run.counts["week"] == WEEK and run.counts["fired"] == 1 and run.counts["sent"] == 2

    # Email: to the account address, multipart text + HTML, signed unsubscribe header.
    [msg] = smtp_server.wait_for(1)
    assert msg["To"] == "ann@example.com"
    assert msg["Subject"].startswith("[voc] card declined abroad: flagged surge")
    assert msg["List-Unsubscribe"].startswith("<https://voc.test/api/v1/unsubscribe/")
    assert "https://voc.test/alerts/unsubscribe/" in msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        assert "card declined abroad" in part
        assert "5 items this week (baseline 1.2)" in part
        assert f"https://voc.test/topics/{planted.surge.id}?week={WEEK}" in part
    quoted = [t for t in (f.text for f in planted.surge_feedback) if t in text]
    assert len(quoted) == 3  # three representative verbatims

    # Webhook: one call, Slack/Teams text + machine part, HMAC over the exact body.
    [req] = webhook_server.on("/ok")
    assert verify("hush", req["body"], req["headers"]["X-Voc-Signature"])
    assert req["headers"]["X-Voc-Timestamp"].isdigit()
    body = req["json"]
    assert body["voc"]["topic_id"] == planted.surge.id and body["voc"]["week"] == WEEK
    assert "card declined abroad" in body["text"] and body["blocks"]
    assert len(body["voc"]["examples"]) == 3

    rows = _deliveries(session)
    assert [r.status for r in rows] == ["sent", "sent"]
    surge_ids = {f.id for f in planted.surge_feedback}
    assert all(len(r.feedback_ids) == 3 and set(r.feedback_ids) <= surge_ids for r in rows)
    state = session.scalar(select(AlertState).where(AlertState.subscription_id == sub.id))
    assert state.state == "triggered" and state.last_week == WEEK

    # Re-run: nothing new is queued or sent.
    again = run_job("alerts", ctx, raise_errors=True)
    assert again.counts["fired"] == 0 and again.counts["sent"] == 0
    assert len(smtp_server.messages) == 1 and len(webhook_server.on("/ok")) == 1
    assert len(_deliveries(session)) == 2


def test_failing_and_hanging_receivers_retry_with_backoff_without_blocking_others(
        session, planted, alert_settings, smtp_server, webhook_server, session_factory) -> None:  # noqa: ANN001
    webhook_server.hang_s = 1.5
    _sub(session, planted, [
        {"type": "webhook", "config": {"url": webhook_server.base + "/hang"}},
        {"type": "webhook", "config": {"url": webhook_server.base + "/fail"}},
        {"type": "webhook", "config": {"url": webhook_server.base + "/ok"}},
        {"type": "email", "config": {"addresses": ["team@example.com"]}}])
    res = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert (res.enqueued, res.sent, res.retrying, res.failed) == (4, 2, 2, 0)
    assert len(webhook_server.on("/ok")) == 1
    assert smtp_server.wait_for(1)[0]["To"] == "team@example.com"

    by_url = {r.target["config"].get("url", "email").rsplit("/", 1)[-1]: r
              for r in _deliveries(session)}
    assert by_url["ok"].status == by_url["email"].status == "sent"
    for name, err in (("fail", "HTTP 500"), ("hang", "timed out")):
        row = by_url[name]
        assert row.status == "retrying" and row.attempts == 1
        assert err in row.last_error
        assert row.next_attempt_at == NOW + dt.timedelta(seconds=60)

    # Not due yet: nothing is attempted.
    early = process_due(session_factory, alert_settings, NOW + dt.timedelta(seconds=30))
    assert early.attempted == 0
    # Second attempt after the backoff; the third and last one marks them failed.
    second = process_due(session_factory, alert_settings, NOW + dt.timedelta(seconds=61))
    assert (second.attempted, second.retrying) == (2, 2)
    row = session.get(AlertDelivery, by_url["fail"].id)
    session.refresh(row)
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=61 + 120)
    third = process_due(session_factory, alert_settings, NOW + dt.timedelta(hours=1))
    assert (third.attempted, third.failed) == (2, 2)
    session.expire_all()
    assert session.get(AlertDelivery, by_url["fail"].id).status == "failed"
    attempts = store.delivery_attempts(session, by_url["fail"].id)
    assert [(a.attempt, a.ok) for a in attempts] == [(1, False), (2, False), (3, False)]
    assert len(webhook_server.on("/fail")) == 3
    # The ok receiver and the email were never re-sent.
    assert len(webhook_server.on("/ok")) == 1 and len(smtp_server.messages) == 1
    log = store.recent_deliveries(session, 10)
    assert {d["status"] for d in log} == {"sent", "failed"}
    assert all("hush" not in str(d) for d in log)
    # An admin fixes the receiver and retries by hand.
    assert store.retry_delivery(session, by_url["fail"].id, now=NOW + dt.timedelta(hours=2))
    session.commit()
    assert process_due(session_factory, alert_settings,
                       NOW + dt.timedelta(hours=2)).attempted == 1


def test_dry_run_sends_and_writes_nothing(session, planted, alert_settings, smtp_server,
                                          webhook_server, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "email", "config": {}},
                            {"type": "webhook", "config": {"url": webhook_server.base + "/ok"}}])
    res = run_alerts(session_factory, alert_settings.replace(alerts_dry_run=True), week=WEEK,
                     now=NOW)
    assert res.dry_run and res.fired == 1 and len(res.planned) == 2
    assert {p["target"] for p in res.planned} == {"email: account email", "webhook: " +
                                                  webhook_server.base.split("//")[1]}
    assert smtp_server.messages == [] and webhook_server.requests == []
    assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 0
    assert session.scalar(select(func.count()).select_from(AlertState)) == 0
    # The real run afterwards still sends (dry run consumed nothing).
    res = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert res.sent == 2


def test_crash_between_queue_and_send_never_duplicates(session, planted, alert_settings,
                                                       smtp_server, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "email", "config": {}}])
    first = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW, send=False)
    assert first.enqueued == 1 and smtp_server.messages == []
    # A "crash" after claiming: the row is left 'sending' with a lease.
    claimed = claim_due(session_factory, NOW)
    assert [r.status for r in claimed] == ["sending"]
    again = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert (again.fired, again.enqueued, again.sent) == (0, 0, 0)  # leased, not re-sent
    assert smtp_server.messages == []
    later = process_due(session_factory, alert_settings, NOW + dt.timedelta(minutes=16))
    assert later.sent == 1
    assert len(smtp_server.wait_for(1)) == 1
    assert process_due(session_factory, alert_settings, NOW + dt.timedelta(days=1)).attempted == 0


def test_quiet_period_then_rearm_next_week(session, planted, alert_settings, smtp_server,
                                           session_factory) -> None:  # noqa: ANN001
    from voc.models.insights import Ranking as RankingRow

    _sub(session, planted, [{"type": "in_app", "config": {}}], quiet_hours=72)
    assert run_alerts(session_factory, alert_settings, week=WEEK, now=NOW).sent == 1
    # The same topic still surging next week, evaluated within the quiet period: suppressed.
    row = session.scalar(select(RankingRow).where(RankingRow.topic_id == planted.surge.id))
    common = {c: getattr(row, c) for c in ("scope", "score", "share", "csat_n", "components",
                                           "drivers", "sparkline", "computed_at", "label",
                                           "rank", "volume", "baseline", "change",
                                           "negative_share", "flags", "flag_details",
                                           "markets", "reasons")}
    session.add(RankingRow(week="2026-W47", topic_id=planted.surge.id, rank_change=0, **common))
    session.commit()
    quiet = run_alerts(session_factory, alert_settings, week="2026-W47",
                       now=NOW + dt.timedelta(hours=24))
    assert (quiet.fired, quiet.suppressed_quiet) == (0, 1)
    after = run_alerts(session_factory, alert_settings, week="2026-W47",
                       now=NOW + dt.timedelta(days=7))
    assert after.fired == 1 and after.sent == 1
    # When the topic is no longer flagged, the state re-arms to ok.
    session.add(RankingRow(week="2026-W48", topic_id=planted.surge.id, rank_change=0,
                           **{**common, "flags": []}))
    session.commit()
    calm = run_alerts(session_factory, alert_settings, week="2026-W48",
                      now=NOW + dt.timedelta(days=14))
    assert (calm.fired, calm.rearmed) == (0, 1)
    session.expire_all()
    assert session.scalar(select(AlertState.state)) == "ok"


def test_in_app_notifications_unread_count_and_erasure_scrub(
        session, planted, alert_settings, smtp_server, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "in_app", "config": {}}, {"type": "email", "config": {}}])
    assert run_alerts(session_factory, alert_settings, week=WEEK, now=NOW).sent == 2
    assert store.unread_count(session, planted.user.id) == 1
    assert store.unread_count(session, planted.other.id) == 0
    [note] = store.list_notifications(session, planted.user.id)
    assert note.topic_id == planted.surge.id and len(note.examples) == 3
    assert note.url == f"https://voc.test/topics/{planted.surge.id}?week={WEEK}"

    # Erasure: the quoted verbatim disappears from stored payloads and notifications.
    erased = note.examples[0]
    counts = store.scrub_feedback(session, [erased["feedback_id"]])
    session.commit()
    assert counts == {"deliveries": 2, "notifications": 1}
    session.expire_all()
    for d in _deliveries(session):
        assert erased["feedback_id"] not in d.feedback_ids
        assert erased["text"] not in str(d.payload)
        assert len(d.feedback_ids) == 2
    note = session.get(Notification, note.id)
    assert [e["feedback_id"] for e in note.examples] != [] and \
        erased["feedback_id"] not in [e["feedback_id"] for e in note.examples]

    assert store.mark_read(session, planted.user.id) == 1
    assert store.unread_count(session, planted.user.id) == 0


def test_email_over_starttls_with_auth(session, planted, settings, smtp_tls_auth_server,
                                       tls_cert, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "email", "config": {}}])
    s = settings.replace(smtp_host="127.0.0.1", smtp_port=smtp_tls_auth_server.port,
                         smtp_starttls=False, smtp_user="", base_url="https://voc.test")
    # Without STARTTLS and AUTH the server refuses: logged, retried later.
    bad = run_alerts(session_factory, s, week=WEEK, now=NOW)
    assert bad.retrying == 1 and smtp_tls_auth_server.messages == []
    assert "SMTP" in _deliveries(session)[0].last_error
    good = process_due(session_factory, s.replace(smtp_starttls=True, smtp_user="voc",
                                                  smtp_password="s3cret",
                                                  smtp_ca_file=tls_cert[0]),
                       NOW + dt.timedelta(minutes=5))
    assert good.sent == 1
    [msg] = smtp_tls_auth_server.wait_for(1)
    assert smtp_tls_auth_server.auth_logins == ["voc"]
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    assert session.scalar(select(func.count()).select_from(AlertDeliveryAttempt)) == 2


def test_subscription_follows_a_topic_merged_away(session, planted, alert_settings,
                                                  session_factory) -> None:  # noqa: ANN001
    from voc.models.topics import Topic

    old = Topic(label="card refused overseas", status="merged", merged_into_id=planted.surge.id)
    session.add(old)
    session.flush()
    create_subscription(session, planted.user.id, {
        "scope_kind": "topics", "scope": {"topic_ids": [old.id]},
        "targets": [{"type": "in_app"}]})
    session.commit()
    res = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert res.fired == 1 and res.planned[0]["topic_id"] == planted.surge.id


def test_webhook_host_outside_the_allow_list_is_refused_without_a_request(
        session, planted, alert_settings, webhook_server, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "webhook", "config": {"url": webhook_server.base + "/ok"}}])
    s = alert_settings.replace(webhook_allowed_hosts="hooks.slack.com")
    res = run_alerts(session_factory, s, week=WEEK, now=NOW)
    assert res.failed == 1 and webhook_server.requests == []
    [row] = _deliveries(session)
    assert row.status == "failed" and "not in VOC_WEBHOOK_ALLOWED_HOSTS" in row.last_error


def test_webhook_to_an_internal_address_is_refused_by_default(
        session, planted, alert_settings, webhook_server, session_factory) -> None:  # noqa: ANN001
    # SSRF guard: the receiver listens on 127.0.0.1; without VOC_WEBHOOK_ALLOW_PRIVATE the
    # connection is refused after connect, before any byte of the request is sent.
    _sub(session, planted, [{"type": "webhook", "config": {"url": webhook_server.base + "/ok"}}])
    s = alert_settings.replace(webhook_allow_private=False)
    res = run_alerts(session_factory, s, week=WEEK, now=NOW)
    assert res.failed == 1 and webhook_server.requests == []
    [row] = _deliveries(session)
    assert row.status == "failed"
    assert "internal address 127.0.0.1" in row.last_error
    assert "VOC_WEBHOOK_ALLOW_PRIVATE" in row.last_error


def test_webhook_redirect_is_not_followed(
        session, planted, alert_settings, webhook_server, session_factory) -> None:  # noqa: ANN001
    _sub(session, planted, [{"type": "webhook",
                             "config": {"url": webhook_server.base + "/moved"}}])
    res = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert res.failed == 1
    assert len(webhook_server.on("/moved")) == 1 and webhook_server.on("/ok") == []
    [row] = _deliveries(session)
    assert row.status == "failed" and "HTTP 302" in row.last_error
    assert "redirects are not followed" in row.last_error
