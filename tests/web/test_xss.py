"""The XSS corpus (in feedback text, topic labels, keywords, errors, quarantine) renders inert."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.web.seed import XSS_LIVE_MARKERS
from voc.models.feedback import Feedback


def _assert_inert(html: str, where: str) -> None:
    for marker in XSS_LIVE_MARKERS:
        assert marker not in html, f"live markup {marker!r} on {where}"


def test_every_page_escapes_the_corpus(as_role, seeded, session):  # noqa: ANN001
    client = as_role("admin")
    xss_topic = seeded.topic_ids["xss"]
    fid = session.scalar(select(Feedback.id).where(Feedback.topic_id == xss_topic))
    pages = ["/ranking", f"/ranking?week={seeded.week}&tab=policies", "/topics/",
             f"/topics/{xss_topic}", "/verbatims/", "/verbatims/?q=script alert",
             f"/verbatims/?topic={xss_topic}", f"/verbatims/{fid}", "/admin/", "/admin/users",
             "/verbatims/?q=%3Cscript%3Ealert(1)%3C/script%3E"]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        _assert_inert(html, path)
    # the corpus really is on those pages, escaped
    html = client.get(f"/topics/{xss_topic}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert "&lt;svg onload=alert(" in html  # keyword
    search = client.get("/verbatims/?q=onerror").get_data(as_text=True)
    assert "&lt;img src=x <mark>onerror</mark>=alert" in search


def test_query_echo_is_escaped(as_role, seeded):  # noqa: ANN001
    html = as_role("viewer").get('/verbatims/?q="><script>alert(9)</script>').get_data(
        as_text=True)
    assert "<script>alert(9)" not in html
    assert "&lt;script&gt;alert(9)" in html


def test_login_error_echo_is_escaped(client, seeded):  # noqa: ANN001
    from tests.web.conftest import csrf_token

    token = csrf_token(client)
    html = client.post("/login", data={"username": "<script>alert(1)</script>", "password": "x",
                                       "csrf_token": token}).get_data(as_text=True)
    assert "<script>alert(1)" not in html


def test_exports_are_injection_safe(as_role, seeded):  # noqa: ANN001
    client = as_role("viewer")
    body = client.get(f"/verbatims/export.csv?topic={seeded.topic_ids['xss']}").get_data(
        as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    texts = [r[-1] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in texts
    assert "'+SUM(1,2)" in texts and "'-2+3" in texts and "'@cmd|' /C calc'!A0" in texts
    for r in rows[1:]:
        assert all(not c or c[0] not in "=+-@" for c in r), r
    ranking = list(csv.reader(io.StringIO(client.get("/ranking.csv").get_data(as_text=True))))
    assert all(not c or c[0] not in "=+-@" for r in ranking[1:] for c in r)
    md = client.get("/ranking.md").get_data(as_text=True)
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_api_returns_json_not_html(seeded, client):  # noqa: ANN001
    h = {"Authorization": f"Bearer {seeded.tokens['viewer']}"}
    resp = client.get(f"/api/v1/topics/{seeded.topic_ids['xss']}", headers=h)
    assert resp.mimetype == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.get_json()["label"].startswith("<script>")  # data, served as JSON
