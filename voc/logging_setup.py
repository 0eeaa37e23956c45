"""Logging configuration shared by the CLI, scheduler and web processes."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    """Configure root logging once; level from argument or ``VOC_LOG_LEVEL``."""
    level = level or os.environ.get("VOC_LOG_LEVEL", "INFO")
    root = logging.getLogger()
    if root.handlers:
        root.setLevel(level)
        return
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # Third-party chatter that says nothing useful at INFO.
    noisy_loggers = ("sentence_transformers", "httpx", "urllib3", "numba", "bertopic",
                     "alembic.runtime.plugins")
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(logging.WARNING)
