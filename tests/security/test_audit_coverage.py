"""The audit log records who exported, curated, created users, issued tokens, erased."""

from __future__ import annotations

import re

from sqlalchemy import select

from voc import accounts
from voc.models.topics import Topic
from voc.models.users import AuditLog

PASSWORD = "a-long-password-123"


def _actions(session) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(e.actor, e.action) for e in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_library_actions_are_audited(session, settings) -> None:  # noqa: ANN001
    from voc.compliance.erasure import erase_customer
    from voc.nlp.topics import curation

    accounts.create_user(session, "ana", PASSWORD, "analyst", actor="root")
    accounts.issue_token(session, "ana", actor="root")
    topic = Topic(label="t", keywords=[])
    session.add(topic)
    session.flush()
    curation.rename_topic(session, topic.id, "Better name", actor="ana")
    curation.hide_topic(session, topic.id, True, actor="ana")
    erase_customer(session, settings, "c-1", actor="dpo")
    session.flush()
    got = _actions(session)
    for expected in [("root", "user.create"), ("root", "token.issue"), ("dpo", "erase")]:
        assert expected in got, got
    assert sum(1 for actor, action in got if actor == "ana" and action.startswith("topic.")) == 2
    # No personal data in the entries: no passwords, no raw customer ids.
    details = str([e.details for e in session.scalars(select(AuditLog))])
    assert PASSWORD not in details and "c-1" not in details


def test_web_exports_are_audited(settings, session_factory, session) -> None:  # noqa: ANN001
    from web import create_app

    accounts.create_user(session, "vic", PASSWORD, "viewer")
    session.commit()
    app = create_app({"VOC_SETTINGS": settings, "SESSION_FACTORY": session_factory,
                      "TESTING": True})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf_token": token})
    for path in ("/verbatims/export.csv", "/ranking.csv"):
        resp = client.get(path)
        resp.get_data()
        resp.close()
        assert resp.status_code == 200, path
    session.expire_all()
    exports = [a for actor, a in _actions(session) if actor == "vic"]
    assert len(exports) == 2 and all(a.startswith("export.") for a in exports), exports
