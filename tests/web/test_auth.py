"""Login, logout, CSRF, rate limiting, cookies and security headers."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.web.conftest import PASSWORD, csrf_token, login
from voc.models.web import LoginAttempt


def test_login_redirects_to_next_and_sets_safe_cookie(client, seeded):  # noqa: ANN001
    token = csrf_token(client, "/login?next=/topics/")
    resp = client.post("/login", data={"username": "viewer", "password": "correct-horse-1",
                                       "csrf_token": token, "next": "/topics/"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/topics/")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/topics/").status_code == 200


def test_secure_cookie_flag_follows_settings(web_settings, session_factory, seeded):  # noqa: ANN001
    from web import create_app

    app = create_app({"VOC_SETTINGS": web_settings.replace(session_cookie_secure=True),
                      "SESSION_FACTORY": session_factory, "TESTING": True})
    client = app.test_client()
    resp = login(client, "viewer")
    assert "Secure" in resp.headers.get("Set-Cookie", "")


def test_open_redirect_is_refused(client, seeded):  # noqa: ANN001
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "viewer", "password": "correct-horse-1",
                                       "csrf_token": token, "next": "//evil.example/x"})
    assert resp.status_code == 302
    assert "evil.example" not in resp.headers["Location"]


def test_wrong_password_is_rejected(client, seeded):  # noqa: ANN001
    resp = login(client, "viewer", "wrong-password")
    assert resp.status_code == 401
    assert "Wrong username or password" in resp.get_data(as_text=True)
    assert client.get("/ranking").status_code == 302


def test_unknown_user_same_message(client, seeded):  # noqa: ANN001
    resp = login(client, "nobody", "whatever-123")
    assert resp.status_code == 401
    assert "Wrong username or password" in resp.get_data(as_text=True)


def test_rate_limit_blocks_after_failures_even_with_right_password(client, seeded, session):  # noqa: ANN001
    for _ in range(5):  # the app fixture sets 5 per minute
        assert login(client, "analyst", "bad-password-x").status_code == 401
    resp = login(client, "analyst")  # correct password, but limited now
    assert resp.status_code == 429
    assert "Too many failed attempts" in resp.get_data(as_text=True)
    # stored in the database (works across workers); the key is a hash, not the username
    keys = session.scalars(select(LoginAttempt.key)).all()
    assert len(keys) == 5 and all(len(k) == 64 and "analyst" not in k for k in keys)
    # other users are not affected
    assert login(client, "viewer").status_code == 302


def test_successful_login_clears_failures(client, seeded, session):  # noqa: ANN001
    login(client, "admin", "bad-password-x")
    assert login(client, "admin").status_code == 302
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_login_post_without_csrf_is_rejected(client, seeded):  # noqa: ANN001
    resp = client.post("/login", data={"username": "viewer", "password": "correct-horse-1"})
    assert resp.status_code == 400
    assert client.get("/ranking").status_code == 302


def test_logout_needs_post_with_csrf(client, seeded):  # noqa: ANN001
    login(client, "viewer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/ranking").status_code == 200  # still logged in
    token = csrf_token(client, "/ranking")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/ranking").status_code == 302


def test_disabled_user_is_logged_out(client, seeded, session):  # noqa: ANN001
    from voc.models.users import User

    login(client, "viewer")
    assert client.get("/ranking").status_code == 200
    session.get(User, seeded.users["viewer"]).active = False
    session.commit()
    assert client.get("/ranking").status_code == 302


def test_security_headers_on_every_response(client, seeded):  # noqa: ANN001
    for path in ("/login", "/ranking", "/api/v1/openapi.json", "/static/app.css"):
        resp = client.get(path)
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_no_inline_scripts_in_pages(as_role, seeded):  # noqa: ANN001
    client = as_role("admin")
    for path in ("/ranking", f"/topics/{seeded.topic_ids['refund']}", "/verbatims/", "/admin/"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html.replace("&lt;script&gt;", "")
        assert ' on' + 'click=' not in html
        assert 'style="' not in html  # CSP style-src 'self' would block inline styles


def _fail_from(client, address: str, password: str = "bad-password-x"):  # noqa: ANN001, ANN202
    token = csrf_token(client)
    return client.post("/login", data={"username": "analyst", "password": password,
                                       "csrf_token": token},
                       headers={"X-Forwarded-For": address})


def test_forwarded_for_is_ignored_without_trusted_proxies(client, seeded):  # noqa: ANN001
    # A client cannot escape the limit by inventing a new X-Forwarded-For for every try.
    for i in range(5):
        assert _fail_from(client, f"203.0.113.{i}").status_code == 401
    resp = _fail_from(client, "203.0.113.99", password=PASSWORD)
    assert resp.status_code == 429


def test_trusted_proxy_limits_per_forwarded_client(web_settings, session_factory, seeded):  # noqa: ANN001
    from web import create_app

    app = create_app({"VOC_SETTINGS": web_settings.replace(trusted_proxies=1),
                      "SESSION_FACTORY": session_factory, "TESTING": True,
                      "SECRET_KEY": "test-secret"})
    client = app.test_client()
    for _ in range(5):
        assert _fail_from(client, "203.0.113.5").status_code == 401
    assert _fail_from(client, "203.0.113.5", password=PASSWORD).status_code == 429
    # another client behind the same proxy is not locked out
    assert _fail_from(client, "198.51.100.7", password=PASSWORD).status_code == 302
