"""A database session per request, scoped to the app context and closed at teardown."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from voc.config import Settings
from voc.db import make_engine, session_factory


@dataclass
class WebState:
    """What the app shares across requests: settings, engine, session factory."""

    settings: Settings
    engine: Engine | None
    session_factory: sessionmaker[Session]


def init_app(app: Flask, settings: Settings,
             factory: sessionmaker[Session] | None = None) -> None:
    """Create the engine (unless a session factory is injected) and the teardown hook."""
    engine = None
    if factory is None:
        engine = make_engine(settings.database_url)
        factory = session_factory(engine)
    app.extensions["voc"] = WebState(settings=settings, engine=engine, session_factory=factory)
    app.teardown_appcontext(_close_session)


def state() -> WebState:
    """The current app's :class:`WebState`."""
    return current_app.extensions["voc"]


def get_settings() -> Settings:
    """The current app's Settings."""
    return state().settings


def get_session() -> Session:
    """The request's session (created on first use, closed when the app context ends)."""
    if "db_session" not in g:
        g.db_session = state().session_factory()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back anything not committed
