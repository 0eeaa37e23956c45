"""Learned sentiment model versions (owned by the enrichment work)."""

from __future__ import annotations
