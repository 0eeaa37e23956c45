"""``voc subscriptions ...`` and ``voc alerts ...`` against a fresh database and real SMTP."""

from __future__ import annotations

from click.testing import CliRunner

from voc.cli import main
from voc.db import make_engine, session_factory, session_scope

from .conftest import WEEK, SmtpSink, plant


def test_cli_subscribe_dry_run_run_log_digest_remove(fresh_db_url: str,
                                                     smtp_server: SmtpSink) -> None:
    engine = make_engine(fresh_db_url)
    try:
        with session_scope(session_factory(engine)) as s:
            surge_id = plant(s).surge.id
    finally:
        engine.dispose()
    runner = CliRunner(env={"VOC_SMTP_HOST": "127.0.0.1", "VOC_SMTP_PORT": str(smtp_server.port),
                            "VOC_BASE_URL": "https://voc.test", "VOC_ALERTS_DRY_RUN": "false"})

    def voc(*args: str, code: int = 0) -> str:
        res = runner.invoke(main, ["--database-url", fresh_db_url, *args])
        assert res.exit_code == code, res.output
        return res.output

    out = voc("subscriptions", "add", "--user", "ann", "--topic", str(surge_id), "--email-me",
              "--in-app", "--name", "Cards")
    assert out.startswith("subscription 1 for ann: topics") and "flagged emerging" in out
    assert "no user named 'nobody'" in voc("subscriptions", "add", "--user", "nobody",
                                           "--all-topics", code=1)
    assert "not an email address" in voc("subscriptions", "add", "--user", "ann",
                                         "--all-topics", "--email", "x@", code=1)
    listed = voc("subscriptions", "list")
    assert "Cards" in listed and "email: account email, in-app" in listed

    dry = voc("alerts", "run", "--week", WEEK, "--dry-run")
    assert dry.count("would send: [voc] card declined abroad") == 2 and "dry_run=True" in dry
    assert smtp_server.messages == []
    real = voc("alerts", "run", "--week", WEEK)
    assert "sent=2" in real
    assert smtp_server.wait_for(1)[0]["To"] == "ann@example.com"
    assert "sent=0" in voc("alerts", "run", "--week", WEEK) and len(smtp_server.messages) == 1
    log = voc("alerts", "deliveries")
    assert log.count(" sent ") == 2 and "in-app" in log
    assert "invalid ISO week" in voc("alerts", "run", "--week", "2026-47", code=1)

    digest = voc("alerts", "digest", "--user", "ann", "--dry-run")
    assert "would send: [voc] Weekly digest" in digest
    voc("subscriptions", "remove", "1")
    assert voc("subscriptions", "list").strip() == "no subscriptions"
    assert "no subscription 1" in voc("subscriptions", "remove", "1", code=1)
