"""Real receivers for alert tests: an aiosmtpd SMTP server and a local HTTP webhook server,
plus a small planted dataset (users, topics, feedback, one ranked week)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from voc.models.base import utcnow
from voc.models.feedback import Feedback, Source
from voc.models.insights import Ranking as RankingRow
from voc.models.topics import Topic
from voc.models.users import User

WEEK = "2026-W46"
NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)  # Monday after W46


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ------------------------------------------------------------------------------

@dataclass
class SmtpSink:
    """Messages received by the test SMTP server."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    auth_logins: list[str] = field(default_factory=list)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _start_smtp(**kwargs: Any) -> tuple[Controller, SmtpSink]:
    port = free_port()
    sink = SmtpSink(port=port)
    ctl = Controller(_Handler(sink), hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    return ctl, sink


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A plain SMTP server on a free local port (no TLS, no auth)."""
    ctl, sink = _start_smtp()
    yield sink
    ctl.stop()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (cert, key)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key_path), "-out", str(cert_path), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert_path, key_path


@pytest.fixture
def smtp_tls_auth_server(tls_cert: tuple[Path, Path]) -> Iterator[SmtpSink]:
    """SMTP with STARTTLS required and AUTH (user 'voc', password 's3cret')."""
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
    holder: dict[str, SmtpSink] = {}

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"voc"
              and auth_data.password == b"s3cret")
        if ok:
            holder["sink"].auth_logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    sink = SmtpSink(port=port)
    holder["sink"] = sink
    ctl = Controller(_Handler(sink), hostname="127.0.0.1", port=port, tls_context=ctx,
                     require_starttls=True, authenticator=authenticator, auth_required=True,
                     server_hostname="localhost")
    ctl.start()
    yield sink
    ctl.stop()


# --- HTTP webhook receiver ---------------------------------------------------------------

@dataclass
class Hook:
    """Requests received by the webhook server; ``/ok``, ``/fail`` (500), ``/hang``,
    ``/moved`` (302 to ``/ok``)."""

    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    hang_s: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def webhook_server() -> Iterator[Hook]:
    """A real threaded HTTP server on a free local port that records every POST."""
    hook = Hook(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with hook.lock:
                hook.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body, "json": json.loads(body)})
            if self.path == "/hang":
                time.sleep(hook.hang_s)
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ok")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            code = 500 if self.path == "/fail" else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (timeout test)
                self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


# --- planted data ------------------------------------------------------------------------

@dataclass
class Planted:
    user: User
    other: User
    surge: Topic
    steady: Topic
    surge_feedback: list[Feedback]
    week: str = WEEK
    now: dt.datetime = NOW


SURGE_TEXTS = [
    "My card was declined at a shop in Lisbon, so embarrassing",
    "Card declined abroad again, I could not pay the hotel",
    "Payment refused in Spain although I have money on the account",
    "Why does my card get declined every time I travel?",
    "Card blocked abroad, the app says nothing",
]


def plant(session) -> Planted:  # noqa: ANN001
    """Two users, two topics, feedback in WEEK and a stored ranking with one surge."""
    ann = User(username="ann", email="ann@example.com", password_hash="x", role="analyst")
    bob = User(username="bob", email="bob@example.com", password_hash="x", role="viewer")
    src = Source(name="support", type="file", kind="ticket")
    surge = Topic(label="card declined abroad", keywords=["card", "declined"])
    steady = Topic(label="delivery times", keywords=["delivery"])
    session.add_all([ann, bob, src, surge, steady])
    session.flush()
    base = dt.datetime(2026, 11, 10, 10, tzinfo=dt.UTC)
    fbs = []
    for i, text in enumerate(SURGE_TEXTS):
        fbs.append(Feedback(source_id=src.id, external_id=f"s{i}", kind="ticket",
                            channel="email", market="PT" if i % 2 else "ES", language="en",
                            created_at=base + dt.timedelta(hours=i), text=text,
                            content_hash=f"h{i}", topic_id=surge.id,
                            sentiment_score=-0.8 + i * 0.1, sentiment_label="negative"))
    for i in range(3):
        fbs.append(Feedback(source_id=src.id, external_id=f"d{i}", kind="ticket",
                            channel="chat", market="DE", language="en",
                            created_at=base + dt.timedelta(hours=i), text=f"Parcel late {i}",
                            content_hash=f"d{i}", topic_id=steady.id, sentiment_score=-0.2,
                            sentiment_label="negative"))
    session.add_all(fbs)
    session.flush()
    common = dict(week=WEEK, scope="all", score=1.0, share=0.1, csat_n=0, components={},
                  drivers={}, sparkline=[1, 1, 5], computed_at=utcnow())
    session.add_all([
        RankingRow(topic_id=surge.id, label=surge.label, rank=1, volume=5, baseline=1.2,
                   change=3.17, negative_share=1.0, csat=None, flags=["surge"],
                   flag_details={"surge": {"z": 4.2}}, markets=["ES", "PT"],
                   reasons=["5 items vs 1.2 expected (x4.2)", "mostly in ES, PT"],
                   rank_change=None, **common),
        RankingRow(topic_id=steady.id, label=steady.label, rank=2, volume=3, baseline=3.0,
                   change=0.0, negative_share=1.0, csat=None, flags=[], flag_details={},
                   markets=["DE"], reasons=[], rank_change=0, **common),
    ])
    session.flush()
    return Planted(user=ann, other=bob, surge=surge, steady=steady,
                   surge_feedback=fbs[:5])


@pytest.fixture
def planted(session) -> Planted:  # noqa: ANN001
    return plant(session)


@pytest.fixture
def alert_settings(settings, smtp_server: SmtpSink):  # noqa: ANN001, ANN201
    """Settings pointing at the test SMTP server, short webhook timeout, fast retries.

    The receivers run on 127.0.0.1, an internal address refused by default, so the
    settings allow internal webhook targets."""
    return settings.replace(smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                            webhook_timeout_s=0.5, webhook_allow_private=True,
                            alerts_retry_base_s=60.0, alerts_max_attempts=3, base_url="https://voc.test",
                            secret_key="test-secret", smtp_from="voc@voc.test")
