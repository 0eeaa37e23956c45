"""Every route for every role: allowed, redirected to login, or forbidden."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_token

ROLE_LEVEL = {"anonymous": 0, "viewer": 1, "analyst": 2, "admin": 3}


def _pages(seed) -> list[tuple[str, str]]:  # noqa: ANN001
    fid = seed_first_feedback(seed)
    t = seed.topic_ids["refund"]
    return [
        ("/ranking", "viewer"), ("/ranking.csv", "viewer"), ("/ranking.md", "viewer"),
        ("/ranking?tab=policies", "viewer"), ("/topics/", "viewer"), (f"/topics/{t}", "viewer"),
        ("/verbatims/", "viewer"), (f"/verbatims/{fid}", "viewer"),
        ("/verbatims/export.csv?q=refund", "viewer"), ("/account", "viewer"),
        ("/admin/", "admin"), ("/admin/users", "admin"),
    ]


def seed_first_feedback(seed) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from voc.models.feedback import Feedback

    return seed.session.scalar(select(Feedback.id).order_by(Feedback.id).limit(1))


@pytest.fixture
def seed_with_session(seeded, session):  # noqa: ANN001, ANN201
    seeded.session = session
    return seeded


@pytest.mark.parametrize("role", list(ROLE_LEVEL))
def test_pages_by_role(client, seed_with_session, role):  # noqa: ANN001
    from tests.web.conftest import login

    if role != "anonymous":
        assert login(client, role).status_code == 302
    for path, needed in _pages(seed_with_session):
        resp = client.get(path)
        if role == "anonymous":
            assert resp.status_code == 302, path
            assert "/login" in resp.headers["Location"], path
        elif ROLE_LEVEL[role] >= ROLE_LEVEL[needed]:
            assert resp.status_code == 200, (path, role, resp.status_code)
        else:
            assert resp.status_code == 403, (path, role, resp.status_code)


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("analyst", 302), ("admin", 302)])
def test_curation_posts_need_analyst(client, seeded, role, expected):  # noqa: ANN001
    from tests.web.conftest import login

    login(client, role)
    t = seeded.topic_ids["delivery"]
    token = csrf_token(client, f"/topics/{t}")
    resp = client.post(f"/topics/{t}/rename", data={"label": "Parcel chaos", "csrf_token": token})
    assert resp.status_code == expected


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("analyst", 403), ("admin", 302)])
def test_admin_posts_need_admin(client, seeded, role, expected):  # noqa: ANN001
    from tests.web.conftest import login

    login(client, role)
    token = csrf_token(client, "/ranking")
    resp = client.post("/admin/users", data={"username": "newbie", "password": "long-enough-1",
                                             "role": "viewer", "csrf_token": token})
    assert resp.status_code == expected


def test_anonymous_post_goes_to_login(client, seeded):  # noqa: ANN001
    token = csrf_token(client)
    t = seeded.topic_ids["refund"]
    resp = client.post(f"/topics/{t}/rename", data={"label": "x", "csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


API_PATHS = ["/api/v1/me", "/api/v1/weeks", "/api/v1/rankings", "/api/v1/rankings/policies",
             "/api/v1/topics", "/api/v1/verbatims?q=refund"]


def test_api_without_token_is_401_with_error_body(client, seeded):  # noqa: ANN001
    for path in API_PATHS + [f"/api/v1/topics/{seeded.topic_ids['refund']}"]:
        resp = client.get(path)
        assert resp.status_code == 401, path
        body = resp.get_json()
        assert body["error"]["code"] == "unauthorized" and body["error"]["message"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_with_bad_or_revoked_token_is_401(client, seeded, session):  # noqa: ANN001
    from voc import accounts

    assert client.get("/api/v1/me", headers={"Authorization": "Bearer voc_nope"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    tok = seeded.tokens["viewer"]
    row = accounts.user_for_token(session, tok)[1]
    accounts.revoke_token(session, row.id)
    session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_api_with_token(client, seeded, role):  # noqa: ANN001
    h = {"Authorization": f"Bearer {seeded.tokens[role]}"}
    for path in API_PATHS:
        assert client.get(path, headers=h).status_code == 200, path
    t = seeded.topic_ids["delivery"]
    resp = client.post(f"/api/v1/topics/{t}/rename", json={"label": "Parcels"}, headers=h)
    if role == "viewer":
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "forbidden"
    else:
        assert resp.status_code in (200, 503)  # 503 until the topics area ships curation


def test_api_session_cookie_is_not_enough(client, seeded):  # noqa: ANN001
    from tests.web.conftest import login

    login(client, "admin")
    assert client.get("/api/v1/me").status_code == 401
