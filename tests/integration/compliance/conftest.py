"""Fixtures for the compliance tests: a small real import through the ingest service."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from voc.models.feedback import Source

#: Distinctive strings: a test greps the whole database for them after erasure.
ALICE = "cust-alice-4711"
ALICE_TEXT = "zebracorn checkout froze twice"
BOB = "cust-bob-0815"


def feedback_rows() -> list[dict[str, Any]]:
    """Three items of Alice over two weeks, two of Bob, one broken row of Alice."""
    return [
        {"id": "t1", "text": f"{ALICE_TEXT}, mail me at alice@example.com",
         "created_at": "2026-11-02T10:00:00", "customer_id": ALICE, "market": "DE",
         "csat": 1},
        {"id": "t2", "text": f"{ALICE_TEXT} again on mobile",
         "created_at": "2026-11-10T10:00:00", "customer_id": ALICE, "market": "DE", "csat": 2},
        {"id": "t3", "text": f"{ALICE_TEXT} refund pending", "created_at": "2026-11-11T09:00:00",
         "customer_id": ALICE, "market": "DE", "csat": 1},
        {"id": "t4", "text": "delivery was quick and friendly", "created_at": "2026-11-03T08:00:00",
         "customer_id": BOB, "market": "FR", "csat": 5},
        {"id": "t5", "text": "app login loops forever", "created_at": "2026-11-10T12:00:00",
         "customer_id": BOB, "market": "FR", "csat": 2},
        # csat out of range: quarantined, with Alice's id (hashed) and her e-mail (redacted)
        {"id": "t6", "text": f"{ALICE_TEXT} write to alice@example.com",
         "created_at": "2026-11-12T09:00:00", "customer_id": ALICE, "csat": 9},
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def make_source(session_factory: sessionmaker[Session]) -> Callable[..., int]:
    """Create a file source and return its id."""
    def make(name: str, path: Path, kind: str = "ticket", **settings: Any) -> int:
        with session_factory() as s:
            src = Source(name=name, type="file", kind=kind,
                         settings={"path": str(path), **settings}, cursor={})
            s.add(src)
            s.commit()
            return src.id
    return make


@pytest.fixture
def ingested(tmp_path: Path, session_factory, settings, make_source):  # noqa: ANN001, ANN201
    """The standard rows ingested by the real ingest service into source 'tickets'."""
    from voc.ingest.service import ingest_source

    path = write_jsonl(tmp_path / "tickets.jsonl", feedback_rows())
    make_source("tickets", path)
    result = ingest_source(session_factory, "tickets", settings, path=path)
    assert result.stored == 5 and result.quarantined == 1
    return path


def scan_database(session: Session, needles: list[str]) -> dict[str, list[str]]:
    """Every table.column whose text contains one of ``needles`` (whole-database grep)."""
    found: dict[str, list[str]] = {}
    bind = session.get_bind()
    insp = inspect(bind)
    for table in insp.get_table_names():
        if table.startswith("feedback_fts") or table == "alembic_version":
            continue  # FTS shadow tables are kept in sync by triggers (checked via search)
        for col in insp.get_columns(table):
            name = col["name"]
            expr = f'CAST("{name}" AS TEXT)'
            for needle in needles:
                n = session.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE {expr} LIKE :pat'),  # noqa: S608
                    {"pat": f"%{needle}%"}).scalar()
                if n:
                    found.setdefault(needle, []).append(f"{table}.{name}")
    return found


def fts_hits(session: Session, word: str) -> int:
    """Full-text index hits for ``word`` (SQLite FTS5 / PostgreSQL tsvector)."""
    if session.get_bind().dialect.name == "sqlite":
        return session.execute(text("SELECT count(*) FROM feedback_fts WHERE feedback_fts MATCH "
                                    ":w"), {"w": word}).scalar()
    return session.execute(text("SELECT count(*) FROM feedback WHERE to_tsvector('simple', text)"
                                " @@ plainto_tsquery('simple', :w)"), {"w": word}).scalar()


def source_id(session: Session, name: str) -> int:
    """Id of source ``name``."""
    return session.scalar(select(Source.id).where(Source.name == name))
