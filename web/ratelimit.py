"""Login rate limiting stored in the database, so it holds across gunicorn workers."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from voc.models.base import utcnow
from voc.models.web import LoginAttempt

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+\s*)?(second|minute|hour|day)s?\s*$", re.I)


def parse_rate(text: str) -> tuple[int, int]:
    """``"10 per minute"`` -> (10, 60); ``"5 per 15 minutes"`` -> (5, 900)."""
    m = _RATE_RE.match(text or "")
    if not m:
        raise ValueError(f"bad rate {text!r}; expected e.g. '10 per minute'")
    count, mult, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3).lower()
    return count, mult * _UNITS[unit]


def attempt_key(username: str, address: str | None) -> str:
    """Hash of (username, client address): neither is stored in clear."""
    raw = f"{(username or '').strip().lower()}\x00{address or '-'}"
    return hashlib.sha256(raw.encode()).hexdigest()


def is_limited(session: Session, key: str, rate: str) -> bool:
    """True when ``key`` has used up its failed attempts in the current window."""
    limit, window_s = parse_rate(rate)
    since = utcnow() - timedelta(seconds=window_s)
    n = session.scalar(select(func.count()).select_from(LoginAttempt)
                       .where(LoginAttempt.key == key, LoginAttempt.at >= since))
    return (n or 0) >= limit


def record_failure(session: Session, key: str, rate: str) -> None:
    """Remember one failed attempt and forget ones older than the window."""
    _, window_s = parse_rate(rate)
    session.add(LoginAttempt(key=key, at=utcnow()))
    # Housekeeping for this key only: cheap, and the table never grows unbounded per user.
    cutoff = utcnow() - timedelta(seconds=window_s * 2)
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.at < cutoff))


def clear(session: Session, key: str) -> None:
    """Forget failures after a successful login."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))
