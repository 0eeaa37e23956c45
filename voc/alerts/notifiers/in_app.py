"""In-app notifications: a row in ``notifications`` shown on the dashboard."""

from __future__ import annotations

from typing import Any

from voc.alerts.notifiers.base import DeliveryError, Notifier, SendContext, register
from voc.models.alerts import Notification


@register
class InAppNotifier(Notifier):
    """Writes a notification for the subscriber in the delivery's own transaction."""

    type = "in_app"
    title = "In-app notification"
    local = True

    def describe(self, config: dict[str, Any]) -> str:
        return "in-app"

    def send(self, payload: dict[str, Any], config: dict[str, Any], ctx: SendContext) -> None:
        if ctx.session is None or ctx.user_id is None:
            raise DeliveryError("in-app delivery needs a session and a user", permanent=True)
        voc = payload.get("webhook", {}).get("voc", {})
        ctx.session.add(Notification(
            user_id=ctx.user_id, delivery_id=ctx.delivery_id, title=payload["subject"][:300],
            body=voc.get("reason") or "", url=payload.get("link"), topic_id=voc.get("topic_id"),
            week=voc.get("week"),
            examples=[{"feedback_id": e.get("feedback_id"), "text": e.get("text")}
                      for e in voc.get("examples") or []],
            feedback_ids=[e.get("feedback_id") for e in voc.get("examples") or []
                          if e.get("feedback_id") is not None],
        ))
