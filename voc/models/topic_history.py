"""Topic registry history: refit runs, curation overrides (owned by the topics work)."""

from __future__ import annotations
