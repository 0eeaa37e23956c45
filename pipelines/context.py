"""What every pipeline step receives: settings, a session factory, options."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from voc.config import Settings


@dataclass
class StepContext:
    """Dependencies injected into a step; steps never read the environment themselves."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"week": "2026-W47"}
    trigger: str = "manual"  # manual | scheduler | web
    progress: bool = False  # show progress bars (interactive CLI)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("voc.pipeline"))
