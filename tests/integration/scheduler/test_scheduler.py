"""The real scheduler process on a fresh database with a 2-second schedule.

Checks: every scheduled job records runs; a failing job (a source whose file is missing)
is recorded as failed, retried on the next tick, and does not stop the others; a second
scheduler against the same database is refused with one line; SIGTERM stops it cleanly.
Model-loading jobs (enrich, topics, refit) are switched off here: they are other areas'
steps and are tested there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.insights.conftest import Builder
from voc.config import PROJECT_ROOT
from voc.db import make_engine
from voc.models.feedback import Source
from voc.models.runs import PipelineRun

WAIT_S = 150  # generous: the test machine is shared and busy


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "VOC_DATABASE_URL": url, "VOC_INSTANCE_DIR": str(tmp_path),
            "VOC_PSEUDONYM_KEY": "test-key", "VOC_LOG_LEVEL": "INFO",
            "VOC_SCHEDULE_INSIGHTS": "every 2s", "VOC_SCHEDULE_ALERTS": "every 2s",
            "VOC_SCHEDULE_PURGE": "every 2s", "VOC_SCHEDULE_ENRICH": "off",
            "VOC_SCHEDULE_TOPICS": "off", "VOC_SCHEDULE_REFIT": "off",
            "VOC_SCHEDULE_MISFIRE_GRACE_S": "30", "HF_HUB_OFFLINE": "1"}


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "voc", "scheduler"], cwd=PROJECT_ROOT,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _runs(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return [(r.job, r.status) for r in s.execute(
                select(PipelineRun.job, PipelineRun.status))]
    finally:
        engine.dispose()


def test_scheduler_runs_jobs_and_is_single(fresh_db_url, tmp_path) -> None:  # noqa: ANN001
    good = tmp_path / "feedback.csv"
    good.write_text("id,text,created_at,market,channel,csat\n"
                    "a1,The app crashes when I pay,2026-11-16T10:00:00,DE,email,2\n"
                    "a2,Refund still not received,2026-11-17T10:00:00,FR,bot,1\n")
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        b = Builder(s)
        t = b.topic("payments")
        b.add("2026-W46", 12, t)
        s.add(Source(name="good", type="file", kind="ticket", schedule="every 2s",
                     settings={"path": str(good)}))
        s.add(Source(name="broken", type="file", kind="ticket", schedule="every 2s",
                     settings={"path": str(tmp_path / "missing.csv")}))
        s.commit()
    engine.dispose()

    env = _env(fresh_db_url, tmp_path)
    first = _start(env, tmp_path / "first.log")
    try:
        wanted = {"rollups", "rank", "alerts", "purge", "ingest:good"}
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            runs = _runs(fresh_db_url)
            ok = {job for job, status in runs if status == "success"}
            failed = Counter(job for job, status in runs if status == "failed")
            if wanted - {"alerts", "purge"} <= ok and {"alerts", "purge"} <= {
                    j for j, st in runs if st != "running"} and failed["ingest:broken"] >= 2:
                break
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail(f"jobs did not all run: {sorted(set(_runs(fresh_db_url)))}\n"
                        + (tmp_path / "first.log").read_text()[-3000:])

        # A second scheduler against the same database exits with one clear line.
        second = subprocess.run([sys.executable, "-m", "voc", "scheduler"], cwd=PROJECT_ROOT,
                                env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert "another scheduler is already running" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr

        # The failing source did not stop the others: they keep succeeding after it failed.
        runs = _runs(fresh_db_url)
        assert ("ingest:broken", "failed") in runs and ("rank", "success") in runs
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            rc = first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            first.kill()
            raise
    assert rc == 0, (tmp_path / "first.log").read_text()[-3000:]
    # The lock was released: another scheduler could start now (checked without starting one).
    from pipelines.lock import SchedulerLock
    from voc.config import load

    engine = make_engine(fresh_db_url)
    try:
        lock = SchedulerLock(load({}, database_url=fresh_db_url, instance_dir=tmp_path),
                             engine).acquire()
        lock.release()
    finally:
        engine.dispose()
