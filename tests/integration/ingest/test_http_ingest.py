"""HTTP connector against a real local help-desk-style export API (http.server in a thread)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from voc.ingest.errors import IngestError
from voc.ingest.service import ingest_source
from voc.models.feedback import Source

TOKEN = "s3cret-token"
PAGE = 2
MAPPING = {"description": "text", "via.channel": "channel", "satisfaction_rating.score": "csat"}


class HelpDesk:
    """State of the fake help desk: tickets with an ``updated_at`` epoch, request log."""

    def __init__(self) -> None:
        self.tickets = [self.ticket(i, 1_000 + i) for i in range(1, 6)]
        self.requests: list[str] = []
        self.throttle_next = 0  # how many 429s to answer before serving

    @staticmethod
    def ticket(number: int, updated: int, status: str = "open", text: str | None = None) -> dict:
        return {"id": number, "created_at": "2026-11-02T10:00:00Z", "updated_at": updated,
                "description": text or f"<p>Ticket {number}: my code never arrives</p>",
                "status": status, "via": {"channel": "email"},
                "satisfaction_rating": {"score": 3}, "requester": {"email": "x@example.com"}}

    def time_page(self, start: int, base: str) -> dict:
        todo = sorted((t for t in self.tickets if t["updated_at"] >= start),
                      key=lambda t: t["updated_at"])
        page = todo[:PAGE]
        end = page[-1]["updated_at"] if page else start
        more = len(todo) > PAGE
        return {"tickets": page, "end_time": end, "end_of_stream": not more,
                "next_page": f"{base}?start_time={end + 1}" if more else None, "count": len(page)}

    def cursor_page(self, cursor: str | None, base: str) -> dict:
        ordered = sorted(self.tickets, key=lambda t: t["id"])
        offset = int(cursor[1:]) if cursor else 0
        page = ordered[offset:offset + PAGE]
        new_offset = offset + len(page)
        done = new_offset >= len(ordered)
        return {"tickets": page, "after_cursor": f"c{new_offset}",
                "after_url": None if done else f"{base}?cursor=c{new_offset}",
                "end_of_stream": done}


def _handler(desk: HelpDesk):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            desk.requests.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"error": "Couldn't authenticate you"})
            if desk.throttle_next:
                desk.throttle_next -= 1
                return self._send(429, {"error": "rate limited"}, {"Retry-After": "0"})
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            base = f"http://127.0.0.1:{self.server.server_port}{parts.path}"
            if parts.path == "/api/v2/incremental/tickets.json":
                return self._send(200, desk.time_page(int(query.get("start_time", 0)), base))
            if parts.path == "/api/v2/incremental/tickets/cursor.json":
                return self._send(200, desk.cursor_page(query.get("cursor"), base))
            return self._send(404, {"error": "not found"})

    return Handler


@pytest.fixture
def helpdesk() -> Iterator[tuple[HelpDesk, str]]:
    desk = HelpDesk()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(desk))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield desk, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _cursor(session_factory, name: str) -> dict:
    with session_factory() as s:
        return s.scalar(select(Source.cursor).where(Source.name == name))


def test_time_based_pagination_429_and_incremental_runs(helpdesk, settings, session_factory,
                                                        make_source, feedback_rows):
    desk, base = helpdesk
    make_source("helpdesk", type="http", settings={
        "url": f"{base}/api/v2/incremental/tickets.json", "token": TOKEN, "mapping": MAPPING})
    desk.throttle_next = 1  # the first call is rate limited
    first = ingest_source(session_factory, "helpdesk", settings)
    assert (first.read, first.stored, first.quarantined) == (5, 5, 0)
    assert first.batches == 3  # pages of 2, 2, 1
    assert desk.requests[0] == desk.requests[1]  # retried after the 429
    assert desk.requests[0].endswith("?start_time=0")
    rows = feedback_rows("helpdesk")
    assert rows["3"].text == "Ticket 3: my code never arrives"
    assert rows["3"].channel == "email" and rows["3"].csat == 3
    assert rows["3"].attributes["requester"] == {"email": "x@example.com"}
    assert rows["3"].attributes["status"] == "open"
    assert _cursor(session_factory, "helpdesk") == {"start_time": 1005}

    # Nothing new: resumes from the stored cursor, re-reads the boundary ticket only.
    desk.requests.clear()
    second = ingest_source(session_factory, "helpdesk", settings)
    assert desk.requests == ["/api/v2/incremental/tickets.json?start_time=1005"]
    assert (second.read, second.stored, second.unchanged) == (1, 0, 1)

    # A ticket changes status and text: updated in place, never duplicated.
    desk.tickets[1] = desk.ticket(2, 2_000, status="solved", text="Ticket 2 edited")
    third = ingest_source(session_factory, "helpdesk", settings)
    assert (third.updated, third.stored) == (1, 0)
    rows = feedback_rows("helpdesk")
    assert len(rows) == 5
    assert rows["2"].text == "Ticket 2 edited" and rows["2"].attributes["status"] == "solved"
    assert _cursor(session_factory, "helpdesk") == {"start_time": 2000}


def test_cursor_based_export(helpdesk, settings, session_factory, make_source, feedback_rows):
    desk, base = helpdesk
    make_source("cursor", type="http", settings={
        "url": f"{base}/api/v2/incremental/tickets/cursor.json", "token": TOKEN,
        "mapping": MAPPING})
    result = ingest_source(session_factory, "cursor", settings)
    assert (result.read, result.stored) == (5, 5)
    assert _cursor(session_factory, "cursor")["after_cursor"] == "c5"
    desk.tickets.append(desk.ticket(6, 3_000))
    desk.requests.clear()
    again = ingest_source(session_factory, "cursor", settings)
    assert desk.requests[0].endswith("cursor.json?cursor=c5")
    assert (again.read, again.stored) == (1, 1)
    assert len(feedback_rows("cursor")) == 6


def test_rate_limit_gives_up_after_max_retries(helpdesk, settings, session_factory, make_source):
    desk, base = helpdesk
    make_source("busy", type="http", settings={
        "url": f"{base}/api/v2/incremental/tickets.json", "token": TOKEN, "mapping": MAPPING})
    desk.throttle_next = 10
    with pytest.raises(IngestError, match=r"HTTP 429 .*still failing after 2 retries"):
        ingest_source(session_factory, "busy", settings.replace(http_max_retries=2))
    assert len(desk.requests) == 3


def test_wrong_token_and_unreachable_are_one_line(helpdesk, settings, session_factory,
                                                  make_source):
    _, base = helpdesk
    make_source("badtoken", type="http", settings={
        "url": f"{base}/api/v2/incremental/tickets.json", "token": "wrong"})
    with pytest.raises(IngestError) as err:
        ingest_source(session_factory, "badtoken", settings)
    assert str(err.value) == (f"source 'badtoken': HTTP 401 Unauthorized from "
                              f"{base}/api/v2/incremental/tickets.json (check the token)")
    make_source("down", type="http", settings={"url": "http://127.0.0.1:9/api/tickets.json"})
    with pytest.raises(IngestError) as err:
        ingest_source(session_factory, "down", settings)
    message = str(err.value)
    assert message.startswith("source 'down': cannot reach http://127.0.0.1:9/api/tickets.json: ")
    assert "refused" in message.lower() and "\n" not in message
