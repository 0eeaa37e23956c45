"""Shared fixtures: one migrated database per backend per test session, and a
rolled-back transaction per test.

Backends come from ``VOC_TEST_BACKENDS`` (default ``sqlite,postgresql``). Every
test that uses a database fixture runs once per backend. PostgreSQL must be
reachable (``VOC_TEST_POSTGRES_URL``, default the local trust-auth server); if
it is not, the session fails instead of skipping silently.

Fixture guide:
- ``session`` / ``session_factory``: inside one transaction that is rolled back
  after the test; commits inside code under test only release a SAVEPOINT.
- ``step_ctx``: a pipeline StepContext wired to that same transaction.
- ``fresh_db_url``: a brand-new migrated database for tests that need real
  commits seen by other connections or processes (scheduler, live server).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from voc import config as voc_config
from voc import migrate
from voc.db import make_engine

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BACKENDS = [b.strip() for b in os.environ.get("VOC_TEST_BACKENDS", "sqlite,postgresql").split(",")
            if b.strip()]
PG_ADMIN_URL = os.environ.get(
    "VOC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


class DatabaseFactory:
    """Creates migrated throw-away databases and drops them at the end of the session."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self._pg_dbs: list[str] = []
        self._admin: Engine | None = None

    def _pg_admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with self._admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
        return self._admin

    def create(self, backend: str, migrated: bool = True) -> str:
        """A new empty database URL for ``backend`` (migrated to head by default)."""
        name = f"voc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp_dir / (name + '.db')}"
        elif backend == "postgresql":
            with self._pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._pg_dbs.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        else:
            raise ValueError(f"unknown backend {backend}")
        if migrated:
            migrate.upgrade(url)
        return url

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as conn:
            for name in self._pg_dbs:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: 'sqlite' or 'postgresql'."""
    return request.param


@pytest.fixture(scope="session")
def db_url(backend: str, db_factory: DatabaseFactory) -> str:
    """URL of the session's migrated database for this backend."""
    return db_factory.create(backend)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine):  # noqa: ANN201
    """A connection inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    if trans.is_active:
        trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:  # noqa: ANN001
    """Sessions joined to the test's transaction (commits become SAVEPOINT releases)."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> voc_config.Settings:
    """Settings for tests: the session database, a temporary instance folder."""
    return voc_config.load({}, database_url=db_url, env="test", instance_dir=tmp_path,
                           pseudonym_key="test-pseudonym-key")


@pytest.fixture
def step_ctx(settings, engine, session_factory):  # noqa: ANN001, ANN201
    """A StepContext bound to the test's rolled-back transaction."""
    from pipelines.context import StepContext

    return StepContext(settings=settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def fresh_db_url(backend: str, db_factory: DatabaseFactory) -> str:
    """A brand-new migrated database (for tests that need real commits)."""
    return db_factory.create(backend)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository (evaluation data; never copied in)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}", pytrace=False)
    return SHARED_DATA
