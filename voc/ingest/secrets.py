"""Connector secrets come from the environment, never from the database.

A source stores the *name* of an environment variable (``token_env``, ``url_env``,
``password_env``); the value is read when the connector runs. ``sources add`` refuses
literal secrets so that a database dump or backup never holds API tokens or passwords.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url

from voc.ingest.errors import IngestError

#: Settings keys whose literal values would be secrets.
SECRET_KEYS = ("token", "password", "api_key", "secret")


def literal_secrets(conf: Mapping[str, Any]) -> list[str]:
    """Names of settings in ``conf`` that hold a literal secret (to be refused)."""
    found = [k for k in SECRET_KEYS if conf.get(k)]
    url = conf.get("url")
    if isinstance(url, str) and "://" in url:
        try:
            if make_url(url).password:
                found.append("url (contains a password)")
        except Exception:  # noqa: BLE001 - not a database URL: an http URL has no password part
            pass
    for key in conf.get("headers") or {}:
        if str(key).lower() in ("authorization", "x-api-key", "cookie"):
            found.append(f"headers.{key}")
    return found


def resolve(source: str, conf: Mapping[str, Any], key: str,
            environ: Mapping[str, str] | None = None) -> str | None:
    """The secret ``key`` for source ``source``: from ``<key>_env`` in the environment.

    A literal ``key`` in the settings is still honoured (sources created before this rule,
    tests), but ``sources add`` no longer stores one.
    """
    environ = os.environ if environ is None else environ
    var = conf.get(f"{key}_env")
    if var:
        value = environ.get(str(var))
        if not value:
            raise IngestError(f"source '{source}': environment variable {var} (from "
                              f"{key}_env) is not set")
        return value
    value = conf.get(key)
    return None if value in (None, "") else str(value)
