"""Weekly rollups, emerging flags, rankings, policies (owned by the insights work)."""

from __future__ import annotations
