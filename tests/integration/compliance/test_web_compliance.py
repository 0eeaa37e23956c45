"""Compliance pages and the erasure API through the real Flask app (test client).

The end-to-end check: after erasure an erased customer's text appears in no page,
API response or export that the app serves.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.integration.compliance.conftest import ALICE
from voc import accounts
from voc.models.feedback import Feedback, Quarantine
from voc.models.users import AuditLog

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(settings, session_factory, session):  # noqa: ANN001, ANN201
    from web import create_app

    for name, role in (("root", "admin"), ("vic", "viewer")):
        accounts.create_user(session, name, PASSWORD, role)
    session.commit()
    return create_app({"VOC_SETTINGS": settings, "SESSION_FACTORY": session_factory,
                       "TESTING": True, "SECRET_KEY": "test-secret"})


def _csrf(client: FlaskClient, path: str) -> str:
    m = _CSRF.search(client.get(path).get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def _login(app, username: str) -> FlaskClient:  # noqa: ANN001
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": _csrf(client, "/login")})
    assert resp.status_code == 302
    return client


def _token(session, username: str) -> dict[str, str]:  # noqa: ANN001
    issued = accounts.issue_token(session, username)
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def _topic_and_alert(session, settings) -> int:  # noqa: ANN001
    """A topic holding Alice's items and an alert + notification to root quoting her."""
    from sqlalchemy import update

    from voc.insights.ranking import rank_week
    from voc.insights.rollups import refresh
    from voc.models.alerts import AlertDelivery, Notification
    from voc.models.topics import Topic
    from voc.models.users import User

    topic = Topic(label="checkout froze", keywords=["checkout"], size=3)
    session.add(topic)
    session.flush()
    session.execute(update(Feedback).where(Feedback.external_id.in_(["t1", "t2", "t3"]))
                    .values(topic_id=topic.id))
    t1 = session.scalar(select(Feedback.id).where(Feedback.external_id == "t1"))
    root = session.scalar(select(User).where(User.username == "root"))
    delivery = AlertDelivery(idempotency_key="k", target_type="in_app", target={},
                             user_id=root.id, status="sent", topic_id=topic.id,
                             payload={"subject": "surge", "text": "Example: zebracorn ..."},
                             feedback_ids=[t1])
    session.add(delivery)
    session.flush()
    session.add(Notification(user_id=root.id, delivery_id=delivery.id, title="Surge",
                             body="see examples", topic_id=topic.id,
                             examples=[{"feedback_id": t1, "text": "zebracorn checkout froze"}],
                             feedback_ids=[t1]))
    refresh(session, settings)
    for week in ("2026-W45", "2026-W46"):
        rank_week(session, settings, week)
    session.commit()
    return topic.id


def test_erased_text_appears_nowhere(app, session, settings, ingested):  # noqa: ANN001
    topic_id = _topic_and_alert(session, settings)
    admin = _login(app, "root")
    headers = _token(session, "root")
    old_ids = list(session.scalars(select(Feedback.id).where(Feedback.external_id.in_(
        ["t1", "t2", "t3"]))))
    assert "zebracorn" in admin.get("/verbatims/?q=zebracorn").get_data(as_text=True)
    assert admin.get("/api/v1/verbatims?q=zebracorn", headers=headers).get_json()["items"]
    # The check below is meaningful: before erasure these pages do show her text.
    shown_before = [p for p in ("/alerts/notifications", f"/topics/{topic_id}",
                                "/ranking?week=2026-W46", "/api/v1/notifications")
                    if "zebracorn" in admin.get(p, headers=headers).get_data(as_text=True)]
    assert len(shown_before) >= 2, shown_before

    resp = admin.post("/api/v1/admin/erasure", json={"customer_id": ALICE}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["erased"] is True and body["feedback"] == 3 and body["quarantine"] == 1
    assert ALICE not in resp.get_data(as_text=True)

    # Search for another word of her text (the page echoes the query itself).
    pages = ["/verbatims/", "/verbatims/?q=froze", "/verbatims/export.csv", "/topics/",
             "/ranking", "/ranking.csv", "/admin/", "/admin/compliance", "/admin/audit",
             "/admin/audit.csv", "/admin/quarantine?status=all", "/alerts/",
             "/alerts/notifications", "/alerts/deliveries", f"/topics/{topic_id}",
             "/ranking?week=2026-W45", "/ranking?week=2026-W46", "/ranking.md?week=2026-W46",
             "/ranking.csv?week=2026-W46", *[f"/verbatims/{i}" for i in old_ids]]
    api = ["/api/v1/verbatims", "/api/v1/verbatims?q=froze", "/api/v1/topics",
           f"/api/v1/topics/{topic_id}", "/api/v1/rankings", "/api/v1/rankings?week=2026-W46",
           "/api/v1/notifications", *[f"/api/v1/verbatims/{i}" for i in old_ids]]
    served = 0
    for path in pages:
        resp = admin.get(path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        text = resp.get_data(as_text=True)
        assert "zebracorn" not in text and ALICE not in text, path
        served += resp.status_code == 200
    for path in api:
        resp = admin.get(path, headers=headers)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        assert "zebracorn" not in resp.get_data(as_text=True), path
    assert served >= 15
    assert admin.get(f"/verbatims/{old_ids[0]}").status_code == 404
    # Bob's items are still served.
    assert "login loops" in admin.get("/verbatims/").get_data(as_text=True)


def test_erasure_api_access_and_validation(app, session, ingested):  # noqa: ANN001
    client = app.test_client()
    url = "/api/v1/admin/erasure"
    assert client.post(url, json={"customer_id": ALICE}).status_code == 401
    viewer = _token(session, "vic")
    assert client.post(url, json={"customer_id": ALICE}, headers=viewer).status_code == 403
    admin = _token(session, "root")
    assert client.post(url, json={"nope": 1}, headers=admin).status_code == 400
    assert client.post(url, json={"customer_id": " "}, headers=admin).status_code == 400
    dry = client.post(url, json={"customer_id": ALICE, "dry_run": True}, headers=admin)
    assert dry.status_code == 200 and dry.get_json()["erased"] is False
    assert dry.get_json()["feedback"] == 3
    assert session.scalar(select(Feedback.id).where(Feedback.external_id == "t1")) is not None
    # The erasure is documented in the OpenAPI document.
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "post" in doc["paths"]["/api/v1/admin/erasure"]


def test_erasure_form_preview_then_confirm(app, session, ingested):  # noqa: ANN001
    admin = _login(app, "root")
    token = _csrf(admin, "/admin/erasure")
    preview = admin.post("/admin/erasure", data={"customer_id": ALICE, "csrf_token": token})
    assert preview.status_code == 200 and "would remove 3" in preview.get_data(as_text=True)
    assert session.scalar(select(Feedback.id).where(Feedback.external_id == "t1")) is not None
    done = admin.post("/admin/erasure", data={"customer_id": ALICE, "confirm": "yes",
                                              "csrf_token": token})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "removed 3" in html and ALICE not in html
    assert session.scalar(select(Feedback.id).where(Feedback.external_id == "t1")) is None
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert entry.actor == "root"
    # Without the CSRF token the form is refused.
    assert admin.post("/admin/erasure", data={"customer_id": ALICE}).status_code == 400


def test_pages_are_for_admins_only(app, ingested):  # noqa: ANN001
    viewer = _login(app, "vic")
    for path in ("/admin/compliance", "/admin/audit", "/admin/audit.csv", "/admin/quarantine",
                 "/admin/erasure"):
        assert viewer.get(path).status_code == 403, path
    anon = app.test_client()
    assert anon.get("/admin/audit").status_code == 302


def test_audit_page_filters_and_csv_export_is_audited(app, session, ingested):  # noqa: ANN001
    admin = _login(app, "root")
    html = admin.get("/admin/audit?action=user.").get_data(as_text=True)
    assert "user.create" in html
    resp = admin.get("/admin/audit.csv?action=user.create")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert {r[3] for r in rows[1:]} == {"user.create"} and len(rows) == 3
    exports = list(session.scalars(select(AuditLog).where(AuditLog.action == "audit.export")))
    assert len(exports) == 1 and exports[0].actor == "root"
    assert admin.get("/admin/audit?since=notadate").status_code == 400


def test_quarantine_fix_and_discard_from_the_page(app, session, ingested):  # noqa: ANN001
    admin = _login(app, "root")
    entry = session.scalars(select(Quarantine)).one()
    listing = admin.get("/admin/quarantine").get_data(as_text=True)
    assert "csat" in listing and "alice@example.com" not in listing
    page = f"/admin/quarantine/{entry.id}"
    token = _csrf(admin, page)
    payload = json.loads(entry.raw_payload)
    bad = admin.post(page, data={"payload": json.dumps(payload), "csrf_token": token})
    assert bad.status_code == 422 and "Still not valid" in bad.get_data(as_text=True)
    payload["csat"] = 2
    ok = admin.post(page, data={"payload": json.dumps(payload), "csrf_token": token})
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Quarantine, entry.id).status == "fixed"
    assert session.scalar(select(Feedback.csat).where(Feedback.external_id == "t6")) == 2
    # A second bad row, discarded via the bulk action.
    session.add(Quarantine(source_id=entry.source_id, source_name="tickets", reason="x",
                           raw_payload="{}", status="open"))
    session.commit()
    other = session.scalars(select(Quarantine).where(Quarantine.status == "open")).one()
    resp = admin.post("/admin/quarantine/action", data={"action": "discard", "ids": [other.id],
                                                        "csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Quarantine, other.id).status == "discarded"
