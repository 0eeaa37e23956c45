"""Notifier base class, per-type config schema and registry (Redash-destinations style).

A notifier type declares a JSON-schema-like ``schema`` (object with typed
properties, ``required`` and ``secret`` lists). ``validate_target`` checks a
subscription's target against it when the subscription is saved, so a bad
address or URL is refused up front instead of failing at 3 a.m.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from voc.config import Settings


class TargetError(ValueError):
    """A delivery target's config does not match its type's schema."""


class DeliveryError(RuntimeError):
    """Sending failed; ``permanent`` errors are not retried (e.g. a rejected address)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SendContext:
    """What a notifier may need besides the message: settings, ids, the recipient user."""

    settings: Settings
    idempotency_key: str
    delivery_id: int
    user_id: int | None = None
    user_email: str | None = None
    session: Session | None = None  # only for local notifiers (in-app)


class Notifier:
    """Base class: subclasses set ``type``, ``title``, ``schema`` and implement ``send``."""

    type: ClassVar[str] = ""
    title: ClassVar[str] = ""
    schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}, "required": []}
    #: Local notifiers write to the database in the caller's transaction (no network).
    local: ClassVar[bool] = False

    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        """Type-specific checks after the schema; return the normalised config."""
        return config

    def describe(self, config: dict[str, Any]) -> str:
        """A short, secret-free description of the target for lists and logs."""
        return self.type

    def send(self, payload: dict[str, Any], config: dict[str, Any], ctx: SendContext) -> None:
        """Deliver ``payload`` (a rendered Message) or raise :class:`DeliveryError`."""
        raise NotImplementedError


_REGISTRY: dict[str, Notifier] = {}


def register(cls: type[Notifier]) -> type[Notifier]:
    """Class decorator adding a notifier type to the registry."""
    _REGISTRY[cls.type] = cls()
    return cls


def get_notifier(type_name: str) -> Notifier:
    """The registered notifier for ``type_name``; TargetError if unknown."""
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise TargetError(f"unknown target type {type_name!r}; "
                          f"known: {', '.join(sorted(_REGISTRY))}") from None


def notifier_types() -> dict[str, dict[str, Any]]:
    """Type name -> {title, schema} for every registered notifier (forms, API docs)."""
    return {name: {"title": n.title, "schema": n.schema} for name, n in sorted(_REGISTRY.items())}


_PY_TYPES = {"string": str, "boolean": bool, "integer": int, "array": list}


def _validate_schema(schema: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties", {})
    unknown = set(config) - set(props)
    if unknown:
        raise TargetError(f"unknown field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for name, spec in props.items():
        value = config.get(name, spec.get("default"))
        if value in (None, "", []):
            if name in schema.get("required", []):
                raise TargetError(f"{spec.get('title', name)} is required")
            continue
        typ = spec.get("type", "string")
        if typ == "array" and isinstance(value, str):  # "a@x, b@y" from a form field
            value = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
        if typ == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, _PY_TYPES[typ]) or (typ == "integer" and isinstance(value, bool)):
            raise TargetError(f"{spec.get('title', name)} must be a {typ}")
        if typ == "string" and len(value) > spec.get("maxLength", 2000):
            raise TargetError(f"{spec.get('title', name)} is too long")
        out[name] = value
    return out


def validate_target(target: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate ``{"type": ..., "config": {...}}``; raises TargetError."""
    if not isinstance(target, dict) or "type" not in target:
        raise TargetError("a target needs a type")
    notifier = get_notifier(str(target["type"]))
    config = target.get("config") or {}
    if not isinstance(config, dict):
        raise TargetError("a target's config must be an object")
    clean = notifier.check(_validate_schema(notifier.schema, config))
    return {"type": notifier.type, "config": clean}


def public_config(target: dict[str, Any]) -> dict[str, Any]:
    """The target with secret fields masked (for lists, the API and the delivery log)."""
    notifier = get_notifier(str(target.get("type")))
    config = dict(target.get("config") or {})
    for name in notifier.schema.get("secret", []):
        if config.get(name):
            config[name] = "********"
    return {"type": notifier.type, "config": config, "description": notifier.describe(config)}
