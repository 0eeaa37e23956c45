"""Errors raised by ingestion."""

from __future__ import annotations


class IngestError(RuntimeError):
    """A source cannot be read (missing file, unreachable API, wrong password).

    The message is one line meant for the user, already naming the source.
    """


class InvalidValue(ValueError):
    """A field value breaks an import rule; the message is the quarantine reason."""
