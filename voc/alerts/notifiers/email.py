"""Email over SMTP: multipart plain text + HTML, List-Unsubscribe, STARTTLS and auth."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from voc.alerts.notifiers.base import DeliveryError, Notifier, SendContext, TargetError, register
from voc.alerts.tokens import one_click_url

_EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$|^[^@\s<>\"']+@localhost$")


def valid_address(address: str) -> bool:
    """A pragmatic address check (one @, a dotted domain, no spaces or brackets)."""
    return bool(_EMAIL_RE.match(address.strip()))


@register
class EmailNotifier(Notifier):
    """Sends through ``settings.smtp_*``; with no addresses, to the subscriber's own email."""

    type = "email"
    title = "Email"
    schema = {
        "type": "object",
        "properties": {
            "addresses": {"type": "array", "title": "Email addresses",
                          "description": "Comma-separated; empty = your account's email"},
        },
        "required": [],
        "secret": [],
    }

    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        addresses = [str(a).strip() for a in config.get("addresses") or []]
        bad = [a for a in addresses if not valid_address(a)]
        if bad:
            raise TargetError(f"not an email address: {bad[0]}")
        if len(addresses) > 20:
            raise TargetError("at most 20 email addresses per target")
        return {"addresses": addresses} if addresses else {}

    def describe(self, config: dict[str, Any]) -> str:
        addresses = config.get("addresses") or []
        return "email: " + (", ".join(addresses) if addresses else "account email")

    def recipients(self, config: dict[str, Any], ctx: SendContext) -> list[str]:
        """Configured addresses, else the user's account email."""
        addresses = list(config.get("addresses") or [])
        if not addresses and ctx.user_email:
            addresses = [ctx.user_email]
        return addresses

    def build(self, payload: dict[str, Any], to: list[str], ctx: SendContext) -> EmailMessage:
        """The MIME message: text/plain + text/html alternatives and unsubscribe headers."""
        s = ctx.settings
        msg = EmailMessage()
        msg["Subject"] = payload["subject"]
        msg["From"] = s.smtp_from
        msg["To"] = ", ".join(to)
        msg["Date"] = formatdate(localtime=False)
        domain = s.smtp_from.rsplit("@", 1)[-1] or "voc.local"
        msg["Message-ID"] = make_msgid(idstring=f"d{ctx.delivery_id}", domain=domain)
        # Lets receivers de-duplicate if a crash made us send twice.
        msg["X-Voc-Delivery"] = ctx.idempotency_key
        if payload.get("unsubscribe_url"):
            msg["List-Unsubscribe"] = f"<{one_click_url(payload['unsubscribe_url'])}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(payload["text"])
        msg.add_alternative(payload["html"], subtype="html")
        return msg

    def send(self, payload: dict[str, Any], config: dict[str, Any], ctx: SendContext) -> None:
        to = self.recipients(config, ctx)
        if not to:
            raise DeliveryError("no recipient: the target has no address and the user no email",
                                permanent=True)
        msg = self.build(payload, to, ctx)
        s = ctx.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
                smtp.ehlo()
                if s.smtp_starttls:
                    cafile = str(s.smtp_ca_file) if s.smtp_ca_file else None
                    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                    smtp.ehlo()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"all recipients refused ({len(exc.recipients)})",
                                permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP authentication failed: {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {s.smtp_host}:{s.smtp_port}: "
                                f"{type(exc).__name__}: {exc}") from None
        if refused:
            # Partial success: the others got it; do not resend to everyone.
            raise DeliveryError(f"{len(refused)} of {len(to)} recipients refused", permanent=True)
