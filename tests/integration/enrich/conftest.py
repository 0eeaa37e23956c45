"""Helpers for the enrichment tests: add feedback rows, read them back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voc.db import session_scope
from voc.models.feedback import Feedback, Source


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def add_feedback(session_factory: sessionmaker[Session]) -> Callable[..., list[int]]:
    """Insert feedback items (dicts with text and optional language/csat/kind); returns ids."""

    def _add(items: list[dict], source: str = "enrich-test") -> list[int]:
        with session_scope(session_factory) as s:
            src = s.scalar(select(Source).where(Source.name == source))
            if src is None:
                src = Source(name=source, type="file", kind="ticket", settings={}, cursor={})
                s.add(src)
                s.flush()
            start = datetime(2026, 11, 2, tzinfo=UTC)
            rows = []
            for n, item in enumerate(items):
                ext = item.get("external_id") or f"x{n}-{_hash(item['text'])[:8]}"
                rows.append(Feedback(
                    source_id=src.id, external_id=ext, kind=item.get("kind", "ticket"),
                    language=item.get("language"), csat=item.get("csat"),
                    created_at=start + timedelta(hours=n), text=item["text"],
                    content_hash=_hash(item["text"] + str(item.get("csat"))),
                ))
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    return _add


@pytest.fixture
def change_text(session_factory: sessionmaker[Session]) -> Callable[[int, str], None]:
    """What re-ingestion does when an item's text changes: new text/hash, enriched_at reset."""

    def _change(feedback_id: int, text: str) -> None:
        with session_scope(session_factory) as s:
            fb = s.get(Feedback, feedback_id)
            fb.text = text
            fb.content_hash = _hash(text)
            fb.enriched_at = None

    return _change


@pytest.fixture
def read_feedback(session_factory: sessionmaker[Session]) -> Callable[[list[int]], list[Feedback]]:
    def _read(ids: list[int]) -> list[Feedback]:
        with session_factory() as s:
            rows = s.scalars(select(Feedback).where(Feedback.id.in_(ids))).all()
            by_id = {r.id: r for r in rows}
            return [by_id[i] for i in ids]

    return _read
