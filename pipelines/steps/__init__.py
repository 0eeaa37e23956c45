"""Pipeline steps, in the order ``run all`` executes them.

Each step lives in ``pipelines/steps/<name>.py`` and exposes
``run(ctx: StepContext) -> dict[str, int | float | str]`` returning counts
that the run log stores. Steps are idempotent: re-running one after a crash
must not duplicate anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pipelines.context import StepContext

#: Order matters: each step consumes what the previous ones produced.
STEP_ORDER = ("ingest", "enrich", "topics", "rollups", "rank", "alerts", "purge")

StepFn = Callable[[StepContext], dict[str, Any]]


def available_steps() -> list[str]:
    """Steps whose module exists, in pipeline order."""
    names = []
    for name in STEP_ORDER:
        try:
            importlib.import_module(f"pipelines.steps.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pipelines.steps.{name}":
                continue
            raise
        names.append(name)
    return names


def get_step(name: str) -> StepFn:
    """The ``run`` function of step ``name``; KeyError if there is no such step."""
    if name not in STEP_ORDER:
        raise KeyError(f"unknown step {name!r}; steps: {', '.join(STEP_ORDER)}")
    try:
        module = importlib.import_module(f"pipelines.steps.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"pipelines.steps.{name}":
            raise KeyError(f"step {name!r} is not available yet") from None
        raise
    return module.run
