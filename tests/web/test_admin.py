"""Pipeline status page, re-run button, user management."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from tests.web.conftest import csrf_token
from voc.models.runs import PipelineRun
from voc.models.users import User


def test_status_page_shows_runs_errors_and_quarantine(as_role, seeded):  # noqa: ANN001
    html = as_role("admin").get("/admin/").get_data(as_text=True)
    assert "ingest" in html and "success" in html
    assert "failed" in html and "ValueError" in html
    assert "created_at: not a date" in html and "file.csv:7" in html


def test_unknown_step_is_404(as_role, seeded):  # noqa: ANN001
    client = as_role("admin")
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/run/nope", data={"csrf_token": token}).status_code == 404


def test_run_needs_csrf(as_role, seeded):  # noqa: ANN001
    assert as_role("admin").post("/admin/run/rollups").status_code == 400


def test_rerun_step_in_background(fresh_db_url, settings):  # noqa: ANN001
    """A real run against a real committed database, triggered from the page."""
    from sqlalchemy.orm import Session

    from pipelines.steps import available_steps
    from tests.web.conftest import login
    from tests.web.seed import seed
    from voc.db import make_engine
    from web import create_app

    if "rollups" not in available_steps():
        pytest.skip("rollups step not installed")
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        seed(s)
        s.commit()
    app = create_app({"VOC_SETTINGS": settings.replace(database_url=fresh_db_url),
                      "TESTING": True})
    client = app.test_client()
    login(client, "admin")
    token = csrf_token(client, "/admin/")
    resp = client.post("/admin/run/rollups", data={"csrf_token": token})
    assert resp.status_code == 302
    run = None
    for _ in range(300):
        with Session(engine) as s:
            run = s.scalar(select(PipelineRun).where(PipelineRun.trigger == "web"))
            if run is not None and run.status != "running":
                break
        time.sleep(0.1)
    assert run is not None and run.job == "rollups" and run.status == "success", run
    html = client.get("/admin/").get_data(as_text=True)
    assert "rollups" in html and "web" in html
    app.extensions["voc"].engine.dispose()
    engine.dispose()


def test_admin_creates_user_and_token(as_role, seeded, session):  # noqa: ANN001
    client = as_role("admin")
    token = csrf_token(client, "/admin/users")
    resp = client.post("/admin/users", data={"username": "newbie", "password": "long-enough-1",
                                             "role": "analyst", "csrf_token": token})
    assert resp.status_code == 302
    user = session.scalar(select(User).where(User.username == "newbie"))
    assert user.role == "analyst" and user.password_hash.startswith("scrypt:")
    resp = client.post(f"/admin/users/{user.id}/token", data={"csrf_token": token})
    m = re.search(r"<code class=\"token\">(voc_[^<]+)</code>", resp.get_data(as_text=True))
    assert m, "token shown once"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {m.group(1)}"})
    assert me.get_json()["username"] == "newbie"
    # role change and disable
    client.post(f"/admin/users/{user.id}/role", data={"role": "viewer", "csrf_token": token})
    client.post(f"/admin/users/{user.id}/role", data={"active": "0", "csrf_token": token})
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "newbie"))
    assert user.role == "viewer" and not user.active
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {m.group(1)}"}
                      ).status_code == 401


def test_admin_cannot_demote_self(as_role, seeded, session):  # noqa: ANN001
    client = as_role("admin")
    token = csrf_token(client, "/admin/users")
    resp = client.post(f"/admin/users/{seeded.users['admin']}/role",
                       data={"role": "viewer", "csrf_token": token},
                       follow_redirects=True)
    assert "cannot change your own role" in resp.get_data(as_text=True)


def test_weak_password_refused(as_role, seeded):  # noqa: ANN001
    client = as_role("admin")
    token = csrf_token(client, "/admin/users")
    resp = client.post("/admin/users", data={"username": "x1", "password": "short",
                                             "role": "viewer", "csrf_token": token},
                       follow_redirects=True)
    assert "at least 8" in resp.get_data(as_text=True)
