"""The common connector interface: yield batches of raw items, each batch with a cursor.

A connector never writes to the database. The service validates each batch,
upserts it and stores ``batch.cursor`` on the source in the same transaction,
so a crash resumes after the last committed batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voc.config import Settings


@dataclass(slots=True)
class RawItem:
    """One raw record as read, where it was read from, or why it could not be read."""

    payload: Any
    location: str
    error: str | None = None  # set when the item could not even be parsed (bad JSON, ...)
    check_utf8: bool = True  # False when the connector knows the text decoded cleanly


@dataclass
class RawBatch:
    """Items plus the source cursor to store once they are committed."""

    items: list[RawItem]
    cursor: dict[str, Any]
    bytes_read: int = 0  # for progress bars (file connector)


@dataclass
class SourceSpec:
    """What a connector needs to know about its source (a detached copy of the row)."""

    name: str
    type: str
    kind: str = "ticket"
    settings: dict[str, Any] = field(default_factory=dict)
    cursor: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """Reads a source incrementally, starting from ``spec.cursor``."""

    def __init__(self, spec: SourceSpec, settings: Settings, *, path: Path | None = None,
                 progress: bool = False) -> None:
        self.spec = spec
        self.settings = settings
        self.path = path
        self.progress = progress
        self.batch_size = max(1, int(spec.settings.get("batch_size") or settings.ingest_batch_size))

    @abstractmethod
    def batches(self) -> Iterator[RawBatch]:
        """Yield batches in order; raise :class:`voc.ingest.errors.IngestError` on failure."""

    def describe(self) -> str:
        """Where this connector reads from, for logs (never secrets)."""
        return self.spec.type

    def mapping(self) -> dict[str, str]:
        """The source's field mapping (source field -> canonical field)."""
        return dict(self.spec.settings.get("mapping") or {})
