"""Command-line entry point (DESIGN.md section 3).

Each area registers its commands from its own module in ``voc/commands/``;
modules import heavy libraries inside command functions only, so ``--help``
stays fast. Expected failures (bad config, unreachable database, missing
file) are reported as one line on stderr with exit code 1, not a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from functools import cached_property

import click

from voc import config as voc_config
from voc.logging_setup import setup_logging

#: Modules that each define ``register(group: click.Group) -> None``.
COMMAND_MODULES = (
    "voc.commands.db",
    "voc.commands.ingest",
    "voc.commands.nlp",
    "voc.commands.topics",
    "voc.commands.insights",
    "voc.commands.pipeline",
    "voc.commands.web",
    "voc.commands.users",
    "voc.commands.alerts",
    "voc.commands.compliance",
    "voc.commands.demo",
)


class UserError(click.ClickException):
    """An expected failure shown to the user as one line."""


@dataclass
class AppContext:
    """Lazily built settings/engine shared by the commands of one invocation."""

    overrides: dict

    @cached_property
    def settings(self) -> voc_config.Settings:
        try:
            return voc_config.load(**self.overrides)
        except voc_config.ConfigError as exc:
            raise UserError(f"configuration error: {exc}") from None

    @cached_property
    def engine(self):  # noqa: ANN201
        from voc.db import DatabaseUnavailable, check_connection, engine_from_settings

        engine = engine_from_settings(self.settings)
        try:
            check_connection(engine)
        except DatabaseUnavailable as exc:
            raise UserError(str(exc)) from None
        return engine

    @cached_property
    def session_factory(self):  # noqa: ANN201
        from voc.db import session_factory

        return session_factory(self.engine)


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar=None, help="Override VOC_DATABASE_URL for this command.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """voc: customer-feedback mining. Settings come from VOC_* environment variables."""
    overrides = {"database_url": database_url} if database_url else {}
    ctx.obj = AppContext(overrides=overrides)
    setup_logging("DEBUG" if verbose else None)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # an area not built yet
                continue
            raise
        module.register(main)


_register_all()


def run() -> None:
    """Run the CLI, turning unexpected errors into one line (traceback with -v)."""
    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last-resort reporting
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
