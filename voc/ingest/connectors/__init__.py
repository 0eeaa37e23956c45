"""Connectors by source type: ``file``, ``http``, ``sql``."""

from __future__ import annotations

from pathlib import Path

from voc.config import Settings
from voc.ingest.connectors.base import Connector, RawBatch, RawItem, SourceSpec
from voc.ingest.errors import IngestError

__all__ = ["Connector", "RawBatch", "RawItem", "SourceSpec", "make_connector", "CONNECTOR_TYPES"]

CONNECTOR_TYPES = ("file", "http", "sql")


def make_connector(spec: SourceSpec, settings: Settings, *, path: Path | None = None,
                   progress: bool = False) -> Connector:
    """The connector for ``spec.type``."""
    if spec.type == "file":
        from voc.ingest.connectors.file import FileConnector as cls
    elif spec.type == "http":
        from voc.ingest.connectors.http import HttpConnector as cls
    elif spec.type == "sql":
        from voc.ingest.connectors.sql import SqlConnector as cls
    else:
        raise IngestError(f"source '{spec.name}': unknown type {spec.type!r} "
                          f"(expected one of {', '.join(CONNECTOR_TYPES)})")
    if path is not None and spec.type != "file":
        raise IngestError(f"source '{spec.name}' is a {spec.type} source; a path can only be "
                          "ingested into a file source")
    return cls(spec, settings, path=path, progress=progress)
