"""Admin erasure and quarantine fix in real headless Chromium against a live server.

Preview, confirm (the browser's confirm dialog is accepted), then the customer's text is
gone from the verbatim search; a quarantined row is fixed through the edit form. The CSP
must not block anything and no page may raise a script error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.integration.compliance.conftest import ALICE, feedback_rows, write_jsonl
from voc import accounts
from voc.db import make_engine, session_factory, session_scope
from voc.models.feedback import Feedback, Quarantine, Source

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def live(db_factory, tmp_path) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    """A live server on a fresh SQLite database (the browser flow runs once; the database
    behaviour is tested on both backends in test_web_compliance.py)."""
    from voc import config
    from voc.ingest.service import ingest_source
    from web import create_app

    fresh_db_url = db_factory.create("sqlite")
    s = config.load({}, database_url=fresh_db_url, env="test", instance_dir=tmp_path,
                    pseudonym_key="test-pseudonym-key")
    engine = make_engine(fresh_db_url)
    factory = session_factory(engine)
    path = write_jsonl(tmp_path / "t.jsonl", feedback_rows())
    with session_scope(factory) as ses:
        ses.add(Source(name="tickets", type="file", kind="ticket", settings={}, cursor={}))
        accounts.create_user(ses, "root", PASSWORD, "admin")
    ingest_source(factory, "tickets", s, path=path)
    app = create_app({"VOC_SETTINGS": s, "SECRET_KEY": "e2e"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", factory
    server.shutdown()
    app.extensions["voc"].engine.dispose()
    engine.dispose()


def test_admin_erases_a_customer_and_fixes_a_quarantined_row(live) -> None:  # noqa: ANN001
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    base, factory = live
    with session_scope(factory) as ses:
        qid = ses.scalar(select(Quarantine.id))
        payload = json.loads(ses.get(Quarantine, qid).raw_payload)
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(20000)
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))

        def accept(dialog):  # noqa: ANN001, ANN202
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        page.goto(f"{base}/login?next=/admin/compliance")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/compliance")
        assert "Retention in force" in page.content()

        # Quarantine: fix the broken CSAT and re-ingest.
        page.goto(f"{base}/admin/quarantine")
        page.click(f"a[href='/admin/quarantine/{qid}']")
        page.fill("textarea[name=payload]", json.dumps({**payload, "csat": 3}))
        page.click("text=Validate and re-ingest")
        page.wait_for_url("**/admin/quarantine")
        assert "re-ingested" in page.content()

        # Erasure: preview, then confirm in the dialog.
        page.goto(f"{base}/admin/erasure")
        page.fill("input[name=customer_id]", ALICE)
        page.click("text=Preview")
        assert "feedback: would remove 4" in page.content()
        page.click("text=Erase now")
        page.wait_for_selector("text=Done")
        assert "feedback: removed 4" in page.content() and ALICE not in page.content()
        assert dialogs and "cannot be undone" in dialogs[0]

        page.goto(f"{base}/verbatims/?q=froze")
        assert "zebracorn" not in page.content()
        browser.close()
    assert errors == []
    with session_scope(factory) as ses:
        left = ses.scalars(select(Feedback.external_id)).all()
    assert sorted(left) == ["t4", "t5"]
