"""Single-instance lock: only one scheduler may run against a database.

* PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection for the
  scheduler's whole life (released when the connection closes, even if the process dies).
* SQLite: an exclusive ``fcntl.flock`` on a lock file next to the database file (released by
  the kernel when the process exits).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from voc.config import Settings

#: Advisory-lock key: a stable signed 64-bit number derived from a name.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"voc-scheduler").digest()[:8], "big", signed=True)


class LockHeld(RuntimeError):
    """Another process holds the lock; the message is one line for the user."""


class SchedulerLock:
    """Acquire with :meth:`acquire` (or ``with``); :meth:`alive` checks it is still held."""

    def __init__(self, settings: Settings, engine: Engine, name: str = "scheduler") -> None:
        self.settings = settings
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None
        self._fd: int | None = None
        self.path: Path | None = None

    @property
    def key(self) -> int:
        if self.name == "scheduler":
            return LOCK_KEY
        return int.from_bytes(hashlib.sha256(f"voc-{self.name}".encode()).digest()[:8], "big",
                              signed=True)

    def acquire(self) -> SchedulerLock:
        """Take the lock or raise :class:`LockHeld`."""
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()  # the lock is session-level: it outlives this transaction
            if not got:
                conn.close()
                raise LockHeld(f"another {self.name} is already running against this database "
                               f"(PostgreSQL advisory lock {self.key} is held)")
            self._conn = conn
        else:
            self.path = self._lock_path()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(f"another {self.name} is already running against this database "
                               f"(lock file {self.path} is held)") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
        return self

    def _lock_path(self) -> Path:
        db = self.engine.url.database
        if db and db != ":memory:":
            return Path(db).with_name(Path(db).name + f".{self.name}.lock")
        return Path(self.settings.instance_dir) / f"{self.name}.lock"

    def alive(self) -> bool:
        """Whether the lock is still held (the PostgreSQL connection may have dropped)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except Exception:  # noqa: BLE001 - any failure means the lock is gone
                return False
        return self._fd is not None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            except Exception:  # noqa: BLE001 - closing the connection releases it anyway
                pass
            self._conn.close()
            self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SchedulerLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
