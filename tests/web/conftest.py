"""Fixtures for web tests: an app on the test's rolled-back transaction, seeded data, logins."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.seed import PASSWORD, Seed, seed
from web import create_app

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def seeded(session) -> Seed:  # noqa: ANN001
    data = seed(session)
    session.commit()
    return data


@pytest.fixture
def app(settings, session_factory, seeded) -> Flask:  # noqa: ANN001
    settings = settings.replace(login_rate_limit="5 per minute")
    return create_app({"VOC_SETTINGS": settings, "SESSION_FACTORY": session_factory,
                       "TESTING": True, "SECRET_KEY": "test-secret"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token embedded in a page's form."""
    html = client.get(path).get_data(as_text=True)
    m = _CSRF_RE.search(html)
    assert m, f"no csrf token on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD):  # noqa: ANN201
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def as_role(client: FlaskClient):  # noqa: ANN201
    """``as_role("analyst")`` logs the client in with that role and returns it."""
    def _login(role: str) -> FlaskClient:
        resp = login(client, role)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client
    return _login
