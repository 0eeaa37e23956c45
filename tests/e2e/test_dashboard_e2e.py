"""End to end in real headless Chromium against a live server on a fresh database.

Log in, open the ranking, drill into a topic, search verbatims, export CSV, rename a
topic; screenshots are kept under test-artifacts/e2e/. The XSS corpus in the seeded data
must never execute (no dialogs), and the CSP must not block anything of ours.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests.web.seed import PASSWORD, seed
from voc.db import make_engine
from web import create_app

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


@pytest.fixture
def live_server(fresh_db_url, settings, backend) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        data = seed(s)
        s.commit()
    engine.dispose()
    app = create_app({"VOC_SETTINGS": settings.replace(database_url=fresh_db_url),
                      "SECRET_KEY": "e2e-secret"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", data
    server.shutdown()
    app.extensions["voc"].engine.dispose()


@pytest.fixture
def page(backend):  # noqa: ANN001, ANN201
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True,
                                      viewport={"width": 1366, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(20000)
        pg.voc_dialogs = []  # type: ignore[attr-defined]
        pg.voc_console_errors = []  # type: ignore[attr-defined]

        def on_dialog(d):  # noqa: ANN001, ANN202
            pg.voc_dialogs.append(d.message)
            d.dismiss()

        pg.on("dialog", on_dialog)
        pg.on("console", lambda m: m.type == "error" and pg.voc_console_errors.append(m.text))
        yield pg
        context.close()
        browser.close()


def _shot(page, backend: str, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)


def test_analyst_journey(live_server, page, backend, tmp_path):  # noqa: ANN001
    base, data = live_server
    # 1. anonymous -> login page
    page.goto(base + "/ranking")
    assert "/login" in page.url
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/ranking**")
    # 2. the ranking
    assert page.locator("h1").first.inner_text().startswith("Top customer issues")
    rows = page.locator("table.ranking tbody tr")
    assert rows.count() >= 3
    assert "Refund delays" in rows.first.inner_text()
    assert page.locator("svg.spark").count() >= 1
    _shot(page, backend, "1-ranking")
    # week picker permalink: changing a filter keeps all state in the URL
    page.select_option("select[name=market]", "DE")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**market=DE**")
    assert "week=" in page.url
    # 3. drill into a topic
    page.goto(base + "/ranking")
    page.click("table.ranking a.topic-label >> text=Refund delays")
    page.wait_for_url("**/topics/**")
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("text=Pain quotes").count() == 1
    _shot(page, backend, "2-topic")
    # 4. rename it (analyst curation form with CSRF)
    page.fill("input[name=label]", "Refunds are slow")
    page.click("form[action$='/rename'] button[type=submit]")
    page.wait_for_selector("text=Topic renamed.")
    assert "Refunds are slow" in page.locator("h1").first.inner_text()
    _shot(page, backend, "3-renamed")
    # 5. search verbatims, highlighted
    page.goto(base + "/verbatims/")
    page.fill("input[name=q]", "courier")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=courier**")
    marks = page.locator("article.verbatim mark")
    assert marks.count() >= 1 and marks.first.inner_text().lower().startswith("courier")
    _shot(page, backend, "4-search")
    # 6. export the selection as CSV
    with page.expect_download() as dl:
        page.click("text=Export CSV")
    path = tmp_path / "export.csv"
    dl.value.save_as(path)
    text = path.read_text()
    assert text.startswith("id,source,external_id") and "courier" in text.lower()
    # 7. the XSS corpus is on screen, inert
    page.goto(base + f"/topics/{data.topic_ids['xss']}")
    assert "<script>alert('topic')</script>" in page.locator("h1").first.inner_text()
    page.goto(base + f"/verbatims/?topic={data.topic_ids['xss']}")
    assert page.locator("article.verbatim").count() >= 5
    _shot(page, backend, "5-xss-inert")
    assert page.voc_dialogs == [], f"script ran: {page.voc_dialogs}"
    csp = [e for e in page.voc_console_errors if "Content Security Policy" in e]
    assert csp == [], csp


def test_viewer_cannot_curate_or_administer(live_server, page, backend):  # noqa: ANN001
    base, data = live_server
    page.goto(base + "/login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/ranking**")
    page.goto(base + f"/topics/{data.topic_ids['refund']}")
    assert page.locator("form[action$='/rename']").count() == 0
    resp = page.goto(base + "/admin/")
    assert resp.status == 403
    _shot(page, backend, "6-viewer-403")
    # log out through the CSRF-protected form
    page.goto(base + "/ranking")
    page.click("text=Log out")
    page.wait_for_url("**/login**")
    page.goto(base + "/ranking")
    assert "/login" in page.url
