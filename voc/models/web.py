"""API tokens and web-only state (owned by the dashboard work)."""

from __future__ import annotations
