"""HTTP connector: a help desk's incremental export API, page by page.

Settings: ``url`` (the export endpoint), ``records_key`` (default ``tickets``),
``token`` with ``auth_header`` (default ``Authorization``) and ``auth_scheme``
(default ``Bearer``; empty for a bare header value), ``start_time`` (epoch of
the first run, default 0), ``mapping`` (API field -> canonical field; dotted
paths allowed, e.g. ``via.channel``), optional ``headers``.

Protocol (both styles of incremental export):
- time-based: ``GET url?start_time=<epoch>`` -> ``{"tickets": [...], "next_page": url|null,
  "end_of_stream": bool, "end_time": epoch}``; the cursor stores ``start_time = end_time``;
- cursor-based: ``{"tickets": [...], "after_cursor": "...", "after_url": url, "end_of_stream":
  bool}``; the cursor stores ``after_cursor`` and resumes with ``url?cursor=<after_cursor>``.
Pages are followed until ``end_of_stream`` (or no next page). ``429`` and ``503`` are
retried after ``Retry-After`` seconds (bounded by ``VOC_HTTP_MAX_RETRIES``).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from voc.ingest import secrets
from voc.ingest.connectors.base import Connector, RawBatch, RawItem
from voc.ingest.errors import IngestError

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 502, 503, 504}
_MAX_RETRY_AFTER_S = 300.0
_MAX_PAGES = 100_000  # a loop guard against an API that never ends its stream


class HttpConnector(Connector):
    """Incremental, paginated JSON export API."""

    def describe(self) -> str:
        return _safe_url(self.spec.settings.get("url") or "")

    def batches(self) -> Iterator[RawBatch]:
        conf = self.spec.settings
        base = conf.get("url")
        if not base:
            raise IngestError(f"source '{self.spec.name}': no 'url' setting")
        key = conf.get("records_key") or "tickets"
        cursor = dict(self.spec.cursor or {})
        url = self._first_url(base, cursor)
        for page_no in range(1, _MAX_PAGES + 1):
            body = self._get_json(url)
            records = body.get(key)
            if records is None:
                raise IngestError(f"source '{self.spec.name}': response from {_safe_url(url)} "
                                  f"has no '{key}' list (set the 'records_key' setting)")
            if not isinstance(records, list):
                raise IngestError(f"source '{self.spec.name}': '{key}' in the response from "
                                  f"{_safe_url(url)} is not a list")
            new_cursor = dict(cursor)
            if body.get("end_time") is not None:
                new_cursor["start_time"] = body["end_time"]
            if body.get("after_cursor"):
                new_cursor["after_cursor"] = body["after_cursor"]
            location = f"page {page_no}"
            items = [RawItem(rec, f"{location} #{i + 1}") for i, rec in enumerate(records)]
            # A page larger than the batch size is split; the cursor moves with its last part.
            for start in range(0, max(len(items), 1), self.batch_size):
                part = items[start:start + self.batch_size]
                last = start + self.batch_size >= len(items)
                yield RawBatch(part, new_cursor if last else cursor)
            cursor = new_cursor
            next_url = body.get("next_page") or body.get("after_url")
            if body.get("end_of_stream") or not next_url or not records:
                return
            url = next_url
        raise IngestError(f"source '{self.spec.name}': more than {_MAX_PAGES} pages; stopping")

    def _first_url(self, base: str, cursor: dict[str, Any]) -> str:
        if cursor.get("after_cursor"):
            return _with_params(base, {"cursor": cursor["after_cursor"]})
        start = cursor.get("start_time", self.spec.settings.get("start_time", 0))
        return _with_params(base, {"start_time": int(float(start or 0))})

    def _headers(self) -> dict[str, str]:
        conf = self.spec.settings
        headers = {"Accept": "application/json", "User-Agent": "voc-ingest/1"}
        headers.update({str(k): str(v) for k, v in (conf.get("headers") or {}).items()})
        token = secrets.resolve(self.spec.name, conf, "token")
        if token:
            scheme = conf.get("auth_scheme", "Bearer")
            headers[conf.get("auth_header") or "Authorization"] = \
                f"{scheme} {token}".strip() if scheme else str(token)
        return headers

    def _get_json(self, url: str) -> dict[str, Any]:
        name = self.spec.name
        shown = _safe_url(url)
        retries = max(0, int(self.settings.http_max_retries))
        for attempt in range(retries + 1):
            request = urllib.request.Request(url, headers=self._headers())
            try:
                with urllib.request.urlopen(request, timeout=self.settings.http_timeout_s) as resp:
                    raw = resp.read()
                break
            except urllib.error.HTTPError as exc:
                if exc.code in _RETRY_STATUS and attempt < retries:
                    wait = _retry_after(exc.headers.get("Retry-After"), attempt)
                    log.warning("source %s: HTTP %s from %s, retrying in %.1fs (%d/%d)",
                                name, exc.code, shown, wait, attempt + 1, retries)
                    time.sleep(wait)
                    continue
                hint = " (check the token)" if exc.code in (401, 403) else ""
                if exc.code in _RETRY_STATUS:
                    hint = f" (still failing after {retries} retries)"
                raise IngestError(f"source '{name}': HTTP {exc.code} {exc.reason} from "
                                  f"{shown}{hint}") from None
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                reason = getattr(reason, "strerror", None) or str(reason)
                raise IngestError(f"source '{name}': cannot reach {shown}: {reason}") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise IngestError(f"source '{name}': response from {shown} is not JSON") from None
        if not isinstance(body, dict):
            raise IngestError(f"source '{name}': response from {shown} is not a JSON object")
        return body


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        wait = float(value) if value is not None else 2.0 ** attempt
    except ValueError:  # an HTTP date: rare for rate limits; fall back to backoff
        wait = 2.0 ** attempt
    return min(max(wait, 0.0), _MAX_RETRY_AFTER_S)


def _with_params(url: str, params: dict[str, Any]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update({k: str(v) for k, v in params.items()})
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _safe_url(url: str) -> str:
    """The URL without credentials or query string (tokens sometimes travel there)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
