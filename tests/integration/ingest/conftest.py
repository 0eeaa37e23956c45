"""Helpers for the ingest tests: make sources, read back feedback and quarantine."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voc.db import session_scope
from voc.models.feedback import Feedback, Quarantine, Source


@pytest.fixture
def make_source(session_factory: sessionmaker[Session]) -> Callable[..., int]:
    """Create a source row; returns its id."""

    def _make(name: str = "src", type: str = "file", kind: str = "ticket",  # noqa: A002
              settings: dict[str, Any] | None = None, enabled: bool = True) -> int:
        with session_scope(session_factory) as s:
            src = Source(name=name, type=type, kind=kind, settings=settings or {}, cursor={},
                         enabled=enabled)
            s.add(src)
            s.flush()
            return src.id

    return _make


@pytest.fixture
def feedback_rows(session_factory: sessionmaker[Session]) -> Callable[[str], dict[str, Feedback]]:
    """Feedback of a source by external id."""

    def _rows(source_name: str) -> dict[str, Feedback]:
        with session_factory() as s:
            rows = s.scalars(select(Feedback).join(Source, Feedback.source_id == Source.id)
                             .where(Source.name == source_name)).all()
            return {r.external_id: r for r in rows}

    return _rows


@pytest.fixture
def quarantine_rows(session_factory: sessionmaker[Session]) -> Callable[[str], list[Quarantine]]:
    """Quarantine rows of a source in insertion order."""

    def _rows(source_name: str) -> list[Quarantine]:
        with session_factory() as s:
            return list(s.scalars(select(Quarantine).where(Quarantine.source_name == source_name)
                                  .order_by(Quarantine.id)))

    return _rows


def write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    """A small CSV file."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    """A small JSONL file (strings are written as raw lines)."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
            fh.write("\n")
    return path
