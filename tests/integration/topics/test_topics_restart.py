"""A new process continues from the registry in the database, without refitting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.integration.topics.conftest import START, insert_items, make_corpus
from voc import config
from voc.db import make_engine, session_factory, session_scope
from voc.models.feedback import Feedback
from voc.models.topic_history import TopicRefit
from voc.nlp.topics import service

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import json, sys
from voc import config
from voc.db import make_engine, session_factory
from voc.nlp.topics import service
s = config.load()
counts = service.assign_pending(session_factory(make_engine(s.database_url)), s)
print(json.dumps(counts))
print("bertopic" in sys.modules, "umap" in sys.modules)
"""


def test_new_process_assigns_from_stored_registry(fresh_db_url, tmp_path):  # noqa: ANN001
    settings = config.load({}, database_url=fresh_db_url, env="test", instance_dir=tmp_path,
                           topic_representation="ctfidf", topic_min_cluster_size=8)
    engine = make_engine(fresh_db_url)
    factory = session_factory(engine)
    items = make_corpus(["card", "refund", "login"], 30, seed=0)
    with session_scope(factory) as s:
        insert_items(s, items)
    first = service.refit(factory, settings, kind="bootstrap")
    assert first["new_topics"] == 3
    later = make_corpus(["card", "refund", "login"], 6, seed=3, start=START + timedelta(weeks=5))
    with session_scope(factory) as s:
        new_ids = insert_items(s, later)
    engine.dispose()

    env = {**os.environ, "VOC_DATABASE_URL": fresh_db_url, "VOC_ENV": "test",
           "VOC_TOPIC_REPRESENTATION": "ctfidf", "VOC_TOPIC_MIN_CLUSTER_SIZE": "8",
           "VOC_INSTANCE_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    counts = json.loads(lines[-2])
    assert counts["assigned"] == len(new_ids) and counts["unassigned"] == 0
    assert lines[-1] == "False False"  # no clustering libraries were needed

    engine = make_engine(fresh_db_url)
    with session_scope(session_factory(engine)) as s:
        assert s.scalar(select(func.count()).select_from(TopicRefit)) == 1  # no new refit
        got = s.scalars(select(Feedback.topic_id).where(Feedback.id.in_(new_ids))).all()
        assert None not in got and len(set(got)) == 3
        topic_ids = sorted(set(got))
    engine.dispose()
    _check_cli(fresh_db_url, topic_ids, env)


def _check_cli(url: str, topic_ids: list[int], env: dict) -> None:
    """The topics commands against the same database (curation through the CLI)."""
    from click.testing import CliRunner

    from voc.cli import main

    runner = CliRunner()

    def run(*args: str):  # noqa: ANN202
        res = runner.invoke(main, ["--database-url", url, "topics", *args], env=env)
        assert res.exit_code == 0, res.output
        return res.output

    listed = json.loads(run("list", "--json"))
    assert sorted(t["id"] for t in listed) == topic_ids
    a, b, c = topic_ids
    run("rename", str(a), "Cards that never arrive", "--actor", "ana")
    run("hide", str(b), "--actor", "ana")
    run("merge", str(c), "--into", str(a), "--actor", "ana")
    shown = json.loads(run("show", str(a), "--json", "--examples", "2"))
    assert shown["label"] == "Cards that never arrive" and len(shown["examples"]) == 2
    assert {e["event"] for e in shown["events"]} >= {"renamed", "merged_from", "created"}
    visible = json.loads(run("list", "--json"))
    assert [t["id"] for t in visible] == [a]  # b hidden, c merged
    everything = json.loads(run("list", "--json", "--all"))
    assert {t["id"]: t["status"] for t in everything}[c] == "merged"
    res = runner.invoke(main, ["--database-url", url, "topics", "show", "999999"], env=env)
    assert res.exit_code == 1 and "does not exist" in res.output
    assert "Cards that never arrive" in run("list")
