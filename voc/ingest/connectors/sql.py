"""SQL connector: any SQLAlchemy URL, a query with a ``:watermark`` parameter.

Settings: ``url`` (e.g. ``postgresql+psycopg2://reader:pw@warehouse/db``), ``query``
(e.g. ``SELECT * FROM survey_responses WHERE updated_at > :watermark ORDER BY updated_at``),
``watermark_column`` (a column of the result, in the query's order), optional
``initial_watermark`` (default: the epoch), ``mapping``.

Rows are streamed with a server-side cursor (``stream_results`` + ``yield_per``).
The cursor stores ``{"watermark": value, "watermark_type": "datetime"|"number"|"text"}``
with each batch. Rows that share the watermark value of a batch's last row may be
split across batches; use ``>=`` in the query if that can happen after a crash:
re-reading them is harmless (they come back "unchanged").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from voc.ingest import secrets
from voc.ingest.connectors.base import Connector, RawBatch, RawItem
from voc.ingest.errors import IngestError

_EPOCH = datetime(1970, 1, 1)


class SqlConnector(Connector):
    """A query over another database, resumed from a watermark."""

    def describe(self) -> str:
        return self._safe_url()

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            conf = self.spec.settings
            if not conf.get("url") and conf.get("url_env"):
                return f"${{{conf['url_env']}}}"
            return make_url(conf.get("url") or "").render_as_string(
                hide_password=True)
        except Exception:  # noqa: BLE001 - only for display
            return "<invalid url>"

    def batches(self) -> Iterator[RawBatch]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

        conf = self.spec.settings
        name = self.spec.name
        for required in ("url", "query", "watermark_column"):
            if not conf.get(required) and not conf.get(f"{required}_env"):
                raise IngestError(f"source '{name}': no '{required}' setting")
        column = conf["watermark_column"]
        cursor = dict(self.spec.cursor or {})
        watermark = _decode(cursor.get("watermark"), cursor.get("watermark_type")) \
            if "watermark" in cursor else _decode(conf.get("initial_watermark"), None) or _EPOCH
        url = secrets.resolve(name, conf, "url")
        password = secrets.resolve(name, conf, "password")
        try:
            if password:
                url = make_url(url).set(password=password)
            engine = create_engine(url)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise IngestError(f"source '{name}': invalid database URL: {exc}") from None
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=self.batch_size) \
                    .execute(text(conf["query"]), {"watermark": watermark})
                keys = list(result.keys())
                if column not in keys:
                    raise IngestError(f"source '{name}': the query has no column '{column}' "
                                      f"(columns: {', '.join(keys)})")
                index = 0
                for rows in result.partitions(self.batch_size):
                    items = []
                    last = watermark
                    for row in rows:
                        index += 1
                        payload = {k: _plain(val) for k, val in zip(keys, row, strict=True)}
                        last = row[keys.index(column)]
                        items.append(RawItem(payload, f"row {index}"))
                    if last is not None:
                        watermark = last
                    yield RawBatch(items, _encode(watermark))
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise IngestError(f"source '{name}': cannot query {self._safe_url()}: {reason}") \
                from None
        finally:
            engine.dispose()


def _plain(value: Any) -> Any:
    """JSON-friendly values for the raw payload."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return value


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"watermark": value.isoformat(), "watermark_type": "datetime"}
    if isinstance(value, date):
        return {"watermark": value.isoformat(), "watermark_type": "date"}
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return {"watermark": float(value) if isinstance(value, Decimal) else value,
                "watermark_type": "number"}
    return {"watermark": None if value is None else str(value), "watermark_type": "text"}


def _decode(value: Any, kind: str | None) -> Any:
    if value is None:
        return None
    if kind == "datetime" or (kind is None and isinstance(value, str) and "T" in value):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return value
        # Naive values compare with naive columns; keep what the database gave us.
        return dt if dt.tzinfo is None else dt.astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(value)
    return value
