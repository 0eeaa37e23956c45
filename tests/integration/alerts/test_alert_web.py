"""Alert pages, the no-login unsubscribe link and the subscription API (Flask test client)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from voc import accounts
from voc.alerts import store
from voc.alerts.service import run_alerts
from voc.alerts.subscriptions import create_subscription
from voc.alerts.tokens import make_token
from voc.models.alerts import Subscription

from .conftest import NOW, WEEK, Planted

PASSWORD = "correct horse battery"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(alert_settings, session_factory, planted: Planted, session):  # noqa: ANN001, ANN201
    from web import create_app

    for u in (planted.user, planted.other):
        u.password_hash = generate_password_hash(PASSWORD)
    session.commit()
    return create_app({"VOC_SETTINGS": alert_settings, "SESSION_FACTORY": session_factory,
                       "TESTING": True})


def _csrf(client: FlaskClient, path: str) -> str:
    m = _CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert m, f"no csrf token on {path}"
    return m.group(1)


def _login(client: FlaskClient, username: str) -> FlaskClient:
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": _csrf(client, "/login")})
    assert resp.status_code == 302
    return client


def test_unsubscribe_link_works_without_login_and_stops_alerts(
        app, session, planted, alert_settings, smtp_server, session_factory) -> None:  # noqa: ANN001
    sub = create_subscription(session, planted.user.id, {
        "scope_kind": "topics", "scope": {"topic_ids": [planted.surge.id]},
        "targets": [{"type": "email", "config": {}}]})
    session.commit()
    client = app.test_client()  # never logs in
    token = make_token(alert_settings, "subscription", sub.id)
    page = client.get(f"/alerts/unsubscribe/{token}")
    assert page.status_code == 200
    assert "Stop alerts for" in page.get_data(as_text=True)
    assert session.get(Subscription, sub.id).active  # GET (mail scanners) changes nothing
    done = client.post(f"/alerts/unsubscribe/{token}",
                       data={"csrf_token": _csrf(client, f"/alerts/unsubscribe/{token}")})
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    session.expire_all()
    assert not session.get(Subscription, sub.id).active
    res = run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    assert res.fired == 0 and smtp_server.messages == []
    # Forged or truncated tokens are refused.
    assert client.get(f"/alerts/unsubscribe/{token[:-3]}abc").status_code == 400
    assert client.post("/api/v1/unsubscribe/not-a-token").status_code == 400


def test_one_click_unsubscribe_from_the_list_unsubscribe_header(
        app, session, planted, alert_settings, smtp_server, session_factory) -> None:  # noqa: ANN001
    sub = create_subscription(session, planted.user.id, {
        "scope_kind": "topics", "scope": {"topic_ids": [planted.surge.id]},
        "targets": [{"type": "email", "config": {}}]})
    session.commit()
    run_alerts(session_factory, alert_settings, week=WEEK, now=NOW)
    [msg] = smtp_server.wait_for(1)
    url = msg["List-Unsubscribe"].strip("<>")
    path = url.replace(alert_settings.base_url, "")
    resp = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and resp.get_json()["unsubscribed"].startswith("alerts for")
    session.expire_all()
    assert not session.get(Subscription, sub.id).active


def test_subscription_pages_notifications_and_delivery_log(
        app, session, planted, alert_settings, smtp_server, session_factory) -> None:  # noqa: ANN001
    client = _login(app.test_client(), "ann")
    form = client.get(f"/alerts/subscriptions/new?topic={planted.surge.id}")
    assert form.status_code == 200
    assert f'value="{planted.surge.id}" selected' in form.get_data(as_text=True)
    # A saved search from the verbatim explorer pre-fills the form (its CSAT range too).
    prefill = client.get("/alerts/subscriptions/new?scope_kind=search&q=refund&market=FR"
                         "&csat_min=1&csat_max=2").get_data(as_text=True)
    assert 'name="search_q" value="refund"' in prefill
    assert 'name="search_csat" value="1-2"' in prefill
    token = _csrf(client, "/alerts/subscriptions/new")
    bad = client.post("/alerts/subscriptions/new", data={
        "csrf_token": token, "scope_kind": "topics", "topic_ids": [str(planted.surge.id)],
        "condition_type": "emerging", "t_email": "1", "email_addresses": "not-an-address",
        "quiet_hours": "72"})
    assert bad.status_code == 400 and "not an email address" in bad.get_data(as_text=True)
    ok = client.post("/alerts/subscriptions/new", data={
        "csrf_token": token, "name": "Cards <b>team</b>", "scope_kind": "topics",
        "topic_ids": [str(planted.surge.id)], "condition_type": "emerging",
        "flags": ["surge"], "t_in_app": "1", "t_webhook": "", "quiet_hours": "24",
        "include_in_digest": "1"})
    assert ok.status_code == 302
    index = client.get("/alerts/").get_data(as_text=True)
    assert "Cards &lt;b&gt;team&lt;/b&gt;" in index and "flagged surge" in index

    assert run_alerts(session_factory, alert_settings, week=WEEK, now=NOW).sent == 1
    assert store.unread_count(session, planted.user.id) == 1
    notes = client.get("/alerts/notifications").get_data(as_text=True)
    assert "card declined abroad" in notes and "1 unread" in notes
    note_id = store.list_notifications(session, planted.user.id)[0].id
    opened = client.get(f"/alerts/notifications/{note_id}")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/topics/{planted.surge.id}?week={WEEK}"
    assert store.unread_count(session, planted.user.id) == 0
    log = client.get("/alerts/deliveries").get_data(as_text=True)
    assert "in-app" in log and "sent" in log
    # Someone else's subscription is not reachable.
    other = _login(app.test_client(), "bob")
    sub_id = session.query(Subscription).one().id
    assert other.get(f"/alerts/subscriptions/{sub_id}").status_code == 404


def test_subscription_api(app, session, planted) -> None:  # noqa: ANN001
    token = accounts.issue_token(session, "ann").token
    other = accounts.issue_token(session, "bob").token
    session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/subscriptions").status_code == 401
    bad = client.post("/api/v1/subscriptions", headers=auth, json={
        "scope_kind": "topics", "scope": {"topic_ids": []}, "targets": [{"type": "in_app"}]})
    assert bad.status_code == 422 and "topic" in bad.get_json()["error"]["message"]
    created = client.post("/api/v1/subscriptions", headers=auth, json={
        "scope_kind": "markets", "scope": {"markets": ["es"]},
        "condition": {"type": "threshold", "metric": "negative_share", "threshold": 0.6},
        "targets": [{"type": "webhook", "config": {"url": "https://hooks.example.com/a",
                                                   "secret": "hush"}}]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["scope"] == {"markets": ["ES"]}
    assert body["targets"][0]["config"]["secret"] == "********"
    listed = client.get("/api/v1/subscriptions", headers=auth).get_json()["items"]
    assert [s["id"] for s in listed] == [body["id"]] and "hush" not in str(listed)
    patched = client.patch(f"/api/v1/subscriptions/{body['id']}", headers=auth,
                           json={"quiet_hours": 1, "targets": body["targets"]})
    assert patched.status_code == 200 and patched.get_json()["quiet_hours"] == 1
    session.expire_all()
    assert session.get(Subscription, body["id"]).targets[0]["config"]["secret"] == "hush"
    bob = {"Authorization": f"Bearer {other}"}
    assert client.get(f"/api/v1/subscriptions/{body['id']}", headers=bob).status_code == 404
    assert client.get("/api/v1/notifier-types", headers=auth).get_json()["webhook"]["schema"]
    assert client.get("/api/v1/notifications", headers=auth).get_json() == {"unread": 0,
                                                                             "items": []}
    assert client.delete(f"/api/v1/subscriptions/{body['id']}", headers=auth).status_code == 204
    assert client.get("/api/v1/subscriptions", headers=auth).get_json()["items"] == []
