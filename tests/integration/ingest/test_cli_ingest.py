"""The ingest CLI (`ingest`, `sources ...`, `demo-data`) and the pipeline step, on a real DB."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from pipelines.context import StepContext
from pipelines.steps import ingest as ingest_step
from tests.integration.ingest.conftest import write_csv, write_jsonl
from voc.cli import main
from voc.db import make_engine
from voc.db import session_factory as make_session_factory
from voc.models.feedback import Feedback, Source


@pytest.fixture(scope="module")
def cli_db_url(backend, db_factory) -> str:
    """One migrated database per backend for this module (tests use distinct source names)."""
    return db_factory.create(backend)


@pytest.fixture
def cli(cli_db_url, tmp_path, monkeypatch):
    """Invoke ``python -m voc`` against the module's database."""
    monkeypatch.setenv("VOC_INSTANCE_DIR", str(tmp_path / "instance"))
    runner = CliRunner()

    def _run(*args: str, input: str | None = None):  # noqa: A002
        return runner.invoke(main, ["--database-url", cli_db_url, *args], input=input)

    return _run


def _names(cli) -> list[str]:  # noqa: ANN001
    return [s["name"] for s in json.loads(cli("sources", "list", "--json").output)]


def test_ingest_file_prints_summary_and_quarantine(cli, tmp_path):
    path = write_csv(tmp_path / "export.csv",
                     ["Response ID", "Submitted", "Q3 - What could we improve?", "Satisfaction"],
                     [["R1", "2026-11-02 10:00:00", "Faster refunds", "2"],
                      ["R2", "2026-11-02 11:00:00", "Better app", "7"],
                      ["R3", "2026-11-02 12:00:00", "   ", "3"]])
    result = cli("ingest", str(path), "--source", "survey", "--kind", "survey",
                 "--map", "Q3 - What could we improve?=text", "--map", "Satisfaction=csat",
                 "--map", "Response ID=id", "--map", "Submitted=created_at")
    assert result.exit_code == 0, result.output
    assert "created file source 'survey'" in result.output
    assert "read 3, stored 1, updated 0, unchanged 0, quarantined 2 (skipped 0 erased) in " \
        in result.output
    assert "quarantined export.csv:3: csat=7 is outside 1-5" in result.output
    assert "quarantined export.csv:4: text is empty (only whitespace)" in result.output

    # The mapping is remembered: a second run needs no --map and changes nothing.
    again = cli("ingest", str(path), "--source", "survey")
    assert "read 3, stored 0, updated 0, unchanged 1, quarantined 2" in again.output


def test_one_line_errors(cli, tmp_path):
    missing = cli("ingest", str(tmp_path / "nope.csv"), "--source", "x")
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [f"Error: file not found: {tmp_path}/nope.csv"]
    assert "Traceback" not in missing.output

    cli("sources", "add", "api", "--type", "http", "--setting", "url=http://127.0.0.1:9/t.json")
    bad = cli("ingest", str(write_jsonl(tmp_path / "a.jsonl", [])), "--source", "api")
    assert bad.exit_code == 1
    assert "source 'api' is a http source" in bad.output

    unknown_type = cli("sources", "add", "s", "--type", "ftp")
    assert unknown_type.exit_code == 2
    needs = cli("sources", "add", "w", "--type", "sql", "--setting", "url=sqlite://")
    assert needs.exit_code == 1
    assert "needs the setting(s): query, watermark_column" in needs.output


def test_sources_add_list_remove(cli, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    added = cli("sources", "add", "drop", "--type", "file", "--kind", "survey",
                "--schedule", "every 15m", "--setting", f"path={drop}",
                "--settings-json", '{"mapping": {"Comment": "text"}}')
    assert added.exit_code == 0, added.output
    literal = cli("sources", "add", "helpdesk", "--type", "http", "--setting",
                  "url=https://x/api", "--setting", "token=abc123")
    assert literal.exit_code == 1 and "token_env" in literal.output  # secrets never stored
    cli("sources", "add", "helpdesk", "--type", "http", "--setting", "url=https://x/api",
        "--setting", "token_env=VOC_HELPDESK_TOKEN", "--schedule", "*/15 * * * *")
    dup = cli("sources", "add", "drop", "--type", "file", "--setting", "path=/x")
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad_schedule = cli("sources", "add", "z", "--type", "file", "--setting", "path=/x",
                       "--schedule", "sometimes")
    assert bad_schedule.exit_code == 1

    listing = cli("sources", "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].startswith("name")
    assert any(line.startswith("drop ") and "every 15m" in line for line in lines)
    as_json = json.loads(cli("sources", "list", "--json").output)
    by_name = {s["name"]: s for s in as_json}
    assert by_name["drop"]["settings"] == {"path": str(drop), "mapping": {"Comment": "text"}}
    assert by_name["helpdesk"]["settings"]["token_env"] == "VOC_HELPDESK_TOKEN"

    cli("sources", "disable", "helpdesk")
    states = {s["name"]: s["enabled"] for s in json.loads(cli("sources", "list", "--json").output)}
    assert states["helpdesk"] is False and states["drop"] is True
    removed = cli("sources", "remove", "helpdesk", "--yes")
    assert removed.exit_code == 0 and "removed source 'helpdesk'" in removed.output
    assert "helpdesk" not in _names(cli) and "drop" in _names(cli)
    assert cli("sources", "remove", "helpdesk", "--yes").exit_code == 1


def test_demo_data_command_and_ingest(cli, tmp_path, cli_db_url):
    out = tmp_path / "demo"
    result = cli("demo-data", "--out", str(out), "--weeks", "4", "--seed", "3")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert "planted surge" in result.output and "planted new" in result.output
    survey_map = manifest["survey_mapping"]
    maps = [arg for col, field in survey_map.items() for arg in ("--map", f"{col}={field}")]
    survey = cli("ingest", manifest["survey_path"], "--source", "demo-survey", "--kind", "survey",
                 *maps)
    assert survey.exit_code == 0, survey.output
    tickets = cli("ingest", manifest["tickets_path"], "--source", "demo-helpdesk",
                  "--map", "description=text")
    assert tickets.exit_code == 0, tickets.output
    assert "quarantined" in tickets.output
    engine = make_engine(cli_db_url)
    with make_session_factory(engine)() as s:
        stored = s.scalar(select(func.count()).select_from(Feedback).join(Source).where(
            Source.name.in_(["demo-survey", "demo-helpdesk"])))
    engine.dispose()
    assert stored == manifest["total_items"] - manifest["malformed_count"]


def test_step_runs_all_sources_and_names_the_failing_one(step_ctx: StepContext, tmp_path,
                                                         make_source, feedback_rows):
    path = write_jsonl(tmp_path / "ok.jsonl", [
        {"id": "1", "text": "fine", "created_at": "2026-11-02"}])
    make_source("good", settings={"path": str(path)})
    make_source("broken", settings={"path": str(tmp_path / "missing.jsonl")})
    make_source("off", settings={"path": str(path)}, enabled=False)
    with pytest.raises(ingest_step.IngestFailed) as err:
        ingest_step.run(step_ctx)
    assert "1 of 2 source(s) failed: source 'broken': file not found" in str(err.value)
    assert set(feedback_rows("good")) == {"1"}  # the failing source did not stop the other
    assert feedback_rows("off") == {}

    counts = ingest_step.run_source(step_ctx, "good")
    assert counts["unchanged"] == 0 and counts["read"] == 0  # the file was picked up already
    with step_ctx.session_factory() as s:
        assert s.scalar(select(Source.last_ingest_at).where(Source.name == "good")) is not None
