"""Delivery channels. Importing this package registers the built-in notifier types."""

from voc.alerts.notifiers import email, in_app, webhook  # noqa: F401  (registration)
from voc.alerts.notifiers.base import (
    DeliveryError,
    Notifier,
    SendContext,
    TargetError,
    get_notifier,
    notifier_types,
    public_config,
    register,
    validate_target,
)

__all__ = ["DeliveryError", "Notifier", "SendContext", "TargetError", "get_notifier",
           "notifier_types", "public_config", "register", "validate_target"]
