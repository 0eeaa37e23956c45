"""Secrets come only from the environment and never reach log output or command output."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from voc import config

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "VOC_SECRET_KEY": "SeCrEt-flask-key-91f3",
    "VOC_PSEUDONYM_KEY": "SeCrEt-pseudonym-key-77aa",
    "VOC_SMTP_PASSWORD": "SeCrEt-smtp-pass-5c2e",
}
DB_PASSWORD = "SeCrEt-db-pass-e41b"
CUSTOMER = "cust-SeCrEt-customer-0042"


def _with_db_password(url: str) -> str:
    # PostgreSQL here uses trust authentication: any password is accepted, which lets the
    # test put a recognisable password in the URL and look for it in the output.
    return url.replace("postgresql+psycopg2://postgres@", f"postgresql+psycopg2://postgres:"
                       f"{DB_PASSWORD}@")


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    proc = subprocess.run([sys.executable, "-m", "voc", "-v", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_cli_never_prints_or_logs_secrets(db_factory, tmp_path):  # noqa: ANN001
    url = _with_db_password(db_factory.create("postgresql"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env.update(SECRETS, VOC_DATABASE_URL=url, VOC_ENV="production",
               VOC_INSTANCE_DIR=str(tmp_path), VOC_LOG_LEVEL="DEBUG", HF_HUB_OFFLINE="1")
    out = _run(["db", "upgrade"], env)
    out += _run(["erase", "--customer", "-"], env, stdin=CUSTOMER + "\n")
    out += _run(["erase", "--customer", CUSTOMER, "--dry-run"], env)
    assert "erasure done" in out and "database at head" in out
    for secret in [*SECRETS.values(), DB_PASSWORD, CUSTOMER]:
        assert secret not in out, f"{secret!r} leaked into output"


def test_web_app_logs_no_secrets(settings, session_factory, caplog):  # noqa: ANN001
    from web import create_app

    s = settings.replace(secret_key=SECRETS["VOC_SECRET_KEY"],
                         pseudonym_key=SECRETS["VOC_PSEUDONYM_KEY"],
                         smtp_password=SECRETS["VOC_SMTP_PASSWORD"])
    with caplog.at_level(logging.DEBUG):
        app = create_app({"VOC_SETTINGS": s, "SESSION_FACTORY": session_factory,
                          "TESTING": True})
        client = app.test_client()
        for path in ("/login", "/api/v1/openapi.json", "/admin/audit", "/does-not-exist"):
            body = client.get(path).get_data(as_text=True)
            for secret in SECRETS.values():
                assert secret not in body, path
        client.post("/login", data={"username": "x", "password": SECRETS["VOC_SMTP_PASSWORD"]})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in SECRETS.values():
        assert secret not in logged


def test_library_code_reads_no_environment_variables() -> None:
    """Secrets live in Settings only: library code never reads os.environ itself.

    (Setting offline flags for Hugging Face libraries with ``setdefault`` is allowed.)
    """
    reads = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|environ\.copy\(")
    offenders = []
    for path in [*(ROOT / "voc").rglob("*.py"), *(ROOT / "web").rglob("*.py")]:
        if path.name in ("config.py", "logging_setup.py"):
            continue
        if reads.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], "read settings via voc.config.load(), not os.environ: " \
        + ", ".join(offenders)


def test_production_requires_real_secrets() -> None:
    base = {"VOC_ENV": "production"}
    with pytest.raises(config.ConfigError):
        config.load(base)
    with pytest.raises(config.ConfigError):
        config.load({**base, "VOC_PSEUDONYM_KEY": "x"})  # default Flask secret key
    assert config.load({**base, "VOC_PSEUDONYM_KEY": "x", "VOC_SECRET_KEY": "y"}).is_production


def test_web_app_refuses_to_start_in_production_without_the_key(monkeypatch) -> None:  # noqa: ANN001
    from web import create_app

    for name in list(os.environ):
        if name.startswith("VOC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VOC_ENV", "production")
    monkeypatch.setenv("VOC_SECRET_KEY", "prod-secret")
    with pytest.raises(config.ConfigError, match="VOC_PSEUDONYM_KEY"):
        create_app()


def test_source_credentials_are_not_stored_in_the_database(fresh_db_url) -> None:  # noqa: ANN001
    """Literal secrets are refused; the source names an environment variable instead."""
    from click.testing import CliRunner
    from sqlalchemy import text

    from voc.cli import main
    from voc.db import make_engine

    runner = CliRunner()
    refused = runner.invoke(main, [
        "--database-url", fresh_db_url, "sources", "add", "helpdesk", "--type", "http",
        "--setting", "url=https://helpdesk.example/api/tickets.json",
        "--setting", "token=SeCrEt-helpdesk-token"])
    assert refused.exit_code == 1
    assert "token_env" in refused.output and "SeCrEt-helpdesk-token" not in refused.output
    refused_url = runner.invoke(main, [
        "--database-url", fresh_db_url, "sources", "add", "wh", "--type", "sql",
        "--setting", "url=postgresql+psycopg2://etl:SeCrEt-pw@db/warehouse",
        "--setting", "query=SELECT 1", "--setting", "watermark_column=x"])
    assert refused_url.exit_code == 1 and "password" in refused_url.output
    res = runner.invoke(main, [
        "--database-url", fresh_db_url, "sources", "add", "helpdesk", "--type", "http",
        "--setting", "url=https://helpdesk.example/api/tickets.json",
        "--setting", "token_env=VOC_HELPDESK_TOKEN"])
    assert res.exit_code == 0, res.output
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT CAST(settings AS TEXT) FROM sources")).scalar()
    finally:
        engine.dispose()
    assert "SeCrEt-helpdesk-token" not in stored and "VOC_HELPDESK_TOKEN" in stored


def test_connector_secrets_resolve_from_the_environment() -> None:
    from voc.ingest import secrets
    from voc.ingest.errors import IngestError

    conf = {"token_env": "VOC_TEST_TOKEN"}
    assert secrets.resolve("hd", conf, "token", {"VOC_TEST_TOKEN": "abc"}) == "abc"
    with pytest.raises(IngestError, match="VOC_TEST_TOKEN"):
        secrets.resolve("hd", conf, "token", {})
    assert secrets.literal_secrets({"url": "https://x/api", "token_env": "T"}) == []
    assert secrets.literal_secrets({"headers": {"Authorization": "Bearer x"}}) == \
        ["headers.Authorization"]
