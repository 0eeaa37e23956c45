"""The single-scheduler lock on SQLite (lock file) and PostgreSQL (advisory lock)."""

from __future__ import annotations

import pytest

from pipelines.lock import LockHeld, SchedulerLock
from voc.config import load
from voc.db import make_engine


def test_second_lock_refused_then_free(fresh_db_url, tmp_path) -> None:  # noqa: ANN001
    settings = load({}, database_url=fresh_db_url, instance_dir=tmp_path)
    e1, e2 = make_engine(fresh_db_url), make_engine(fresh_db_url)
    try:
        first = SchedulerLock(settings, e1).acquire()
        assert first.alive()
        with pytest.raises(LockHeld, match="another scheduler is already running"):
            SchedulerLock(settings, e2).acquire()
        first.release()
        with SchedulerLock(settings, e2) as again:  # released: free for the next one
            assert again.alive()
    finally:
        e1.dispose()
        e2.dispose()
