"""Webhook: JSON body for Slack / Microsoft Teams incoming webhooks, HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from voc.alerts.notifiers.base import DeliveryError, Notifier, SendContext, TargetError, register

SIGNATURE_HEADER = "X-Voc-Signature"
TIMESTAMP_HEADER = "X-Voc-Timestamp"
DELIVERY_HEADER = "X-Voc-Delivery"


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>`` as sent in the X-Voc-Signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Receiver-side check of an X-Voc-Signature header (constant-time)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def host_allowed(host: str, allowed: str) -> bool:
    """Whether ``host`` matches one of the comma-separated suffixes (empty list = any host)."""
    suffixes = [a.strip().lower().lstrip(".") for a in allowed.split(",") if a.strip()]
    return not suffixes or any(host == s or host.endswith("." + s) for s in suffixes)


@register
class WebhookNotifier(Notifier):
    """POSTs the message's webhook JSON; non-2xx, timeouts and network errors are retried."""

    type = "webhook"
    title = "Webhook (Slack, Teams, custom)"
    schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "title": "Webhook URL", "maxLength": 1000},
            "secret": {"type": "string", "title": "Signing secret", "maxLength": 200,
                       "description": "HMAC-SHA256 key for the X-Voc-Signature header"},
        },
        "required": ["url"],
        "secret": ["secret"],
    }

    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        url = config["url"].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError("the webhook URL must start with http:// or https://")
        return {**config, "url": url}

    def describe(self, config: dict[str, Any]) -> str:
        # Slack/Teams URLs carry their secret in the path: show only the host.
        return f"webhook: {urlsplit(config.get('url', '')).netloc}"

    def body(self, payload: dict[str, Any], ctx: SendContext, sent_at: int) -> bytes:
        """The exact bytes that are signed and sent."""
        data = dict(payload["webhook"])
        data["voc"] = {**data.get("voc", {}), "delivery": ctx.idempotency_key, "sent_at": sent_at}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, payload: dict[str, Any], config: dict[str, Any], ctx: SendContext) -> None:
        host = (urlsplit(config["url"]).hostname or "").lower()
        if not host_allowed(host, ctx.settings.webhook_allowed_hosts):
            # Keeps users from pointing the server at internal services (SSRF).
            raise DeliveryError(f"webhook host {host} is not in VOC_WEBHOOK_ALLOWED_HOSTS",
                                permanent=True)
        sent_at = int(time.time())
        body = self.body(payload, ctx, sent_at)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "voc-alerts/1", TIMESTAMP_HEADER: str(sent_at),
                   DELIVERY_HEADER: ctx.idempotency_key}
        if config.get("secret"):
            headers[SIGNATURE_HEADER] = sign(config["secret"], body)
        req = urllib.request.Request(config["url"], data=body, headers=headers, method="POST")
        host = urlsplit(config["url"]).netloc
        try:
            with urllib.request.urlopen(req, timeout=ctx.settings.webhook_timeout_s) as resp:
                resp.read(1024)
        except urllib.error.HTTPError as exc:
            # 4xx other than 408/429 will not get better by retrying.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(f"webhook {host} answered HTTP {exc.code}",
                                permanent=permanent) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook {host}: {type(reason).__name__}: {reason}") from None
