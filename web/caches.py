"""Per-process caches for values that every page reads but that change rarely.

The week list, the filter drop-down values and the policy titles would otherwise cost a few
queries (or a taxonomy file read) on every request. Each cache entry expires after a
fixed time, so a worker picks up new data without a restart; :func:`clear_all` forgets
everything (tests register it before each request, because they change data in between).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

_ALL: list[TTLCache] = []


class TTLCache(Generic[T]):
    """A dict whose entries expire ``ttl_s`` seconds after they were stored."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[float, T]] = {}
        _ALL.append(self)

    def get(self, key: Hashable) -> T | None:
        """The value stored under ``key`` if it has not expired, else None."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return None
        return hit[1]

    def put(self, key: Hashable, value: T) -> T:
        """Store ``value`` under ``key`` (replacing any older entry) and return it."""
        self._entries[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


def clear_all() -> None:
    """Forget the entries of every cache in this process (tests, after big imports)."""
    for cache in _ALL:
        cache.clear()
