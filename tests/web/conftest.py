"""Fixtures for web tests.

The seeded dataset (users, topics, feedback, rollups and rankings computed by the real
insights code) is built once per backend per test session in its own database; each test
then runs inside a transaction on that database that is rolled back afterwards. Only
``engine`` is overridden here; the root fixtures build the transaction on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.web.seed import PASSWORD, Seed, seed
from voc.db import make_engine
from web import create_app

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_db(backend: str, db_factory) -> Iterator[tuple[str, Engine, Seed]]:  # noqa: ANN001
    url = db_factory.create(backend)
    engine = make_engine(url)
    with Session(engine) as s:
        data = seed(s)
        s.commit()
    yield url, engine, data
    engine.dispose()


@pytest.fixture(scope="session")
def engine(web_db) -> Engine:  # noqa: ANN001
    """The seeded database's engine: the root conftest's rolled-back ``connection``,
    ``session_factory`` and ``session`` fixtures then run against it."""
    return web_db[1]


@pytest.fixture
def seeded(web_db) -> Seed:  # noqa: ANN001
    return web_db[2]


@pytest.fixture
def web_settings(settings, web_db):  # noqa: ANN001, ANN201
    return settings.replace(database_url=web_db[0], login_rate_limit="5 per minute")


@pytest.fixture
def app(web_settings, session_factory) -> Flask:  # noqa: ANN001
    return create_app({"VOC_SETTINGS": web_settings, "SESSION_FACTORY": session_factory,
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
