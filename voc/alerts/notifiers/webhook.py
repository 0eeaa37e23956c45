"""Webhook: JSON body for Slack / Microsoft Teams incoming webhooks, HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
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


def address_blocked(address: str) -> bool:
    """Whether an IP address is internal (loopback, private, link-local, reserved, ...).

    Such targets are refused unless ``VOC_WEBHOOK_ALLOW_PRIVATE`` is set: a user who may
    create subscriptions must not be able to make the server call its own network (SSRF,
    e.g. a cloud metadata endpoint at 169.254.169.254).
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: a 3xx could point a vetted host at an internal one."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201, PLR0913
        return None  # urllib then raises HTTPError with the 3xx code


def _guarded_opener(allow_private: bool) -> urllib.request.OpenerDirector:
    """An opener that checks the address it actually connected to (so DNS tricks that
    resolve differently at check and connect time cannot get around the check)."""

    def check(sock: socket.socket | None) -> None:
        if allow_private or sock is None:
            return
        peer = sock.getpeername()[0]
        if address_blocked(peer):
            sock.close()
            raise _BlockedAddress(peer)

    class Http(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            check(self.sock)

    class Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            check(self.sock)

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req):  # noqa: ANN001, ANN201
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):  # noqa: ANN001, ANN201
            return self.do_open(Https, req)

    return urllib.request.build_opener(HttpHandler, HttpsHandler, _NoRedirect)


class _BlockedAddress(OSError):
    """The webhook host resolved to an internal address."""


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
        opener = _guarded_opener(ctx.settings.webhook_allow_private)
        try:
            with opener.open(req, timeout=ctx.settings.webhook_timeout_s) as resp:
                resp.read(1024)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                raise DeliveryError(
                    f"webhook {host} answered HTTP {exc.code} (redirect to "
                    f"{exc.headers.get('Location', '?')}); redirects are not followed, "
                    "use the final URL", permanent=True) from None
            # 4xx other than 408/429 will not get better by retrying.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(f"webhook {host} answered HTTP {exc.code}",
                                permanent=permanent) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, _BlockedAddress):
                raise DeliveryError(
                    f"webhook {host} resolves to the internal address {reason}; "
                    "set VOC_WEBHOOK_ALLOW_PRIVATE=1 to allow internal receivers",
                    permanent=True) from None
            raise DeliveryError(f"webhook {host}: {type(reason).__name__}: {reason}") from None
