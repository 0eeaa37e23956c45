"""Signed unsubscribe tokens (itsdangerous, keyed by ``settings.secret_key``).

Links in emails must work without logging in, so the token itself is the
authority: it names what to stop (one subscription, or a user's digest) and is
signed so it cannot be forged or pointed at somebody else's subscription.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from voc.config import Settings

_SALT = "voc.alerts.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What a valid token stops: a subscription, or the weekly digest of a user."""

    kind: str  # "subscription" | "digest"
    id: int


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=_SALT)


def make_token(settings: Settings, kind: str, target_id: int) -> str:
    """A signed token for unsubscribing from ``kind`` (subscription | digest) ``target_id``."""
    if kind not in ("subscription", "digest"):
        raise ValueError(f"unknown unsubscribe kind {kind!r}")
    return _serializer(settings).dumps({"k": kind[0], "i": int(target_id)})


def read_token(settings: Settings, token: str) -> UnsubscribeTarget | None:
    """The target of a token, or None when it is forged, truncated or malformed."""
    try:
        data = _serializer(settings).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in ("s", "d"):
        return None
    try:
        target_id = int(data["i"])
    except (KeyError, TypeError, ValueError):
        return None
    return UnsubscribeTarget("subscription" if data["k"] == "s" else "digest", target_id)


def unsubscribe_url(settings: Settings, kind: str, target_id: int) -> str:
    """Absolute link to the no-login unsubscribe page for ``kind`` ``target_id``."""
    token = make_token(settings, kind, target_id)
    return f"{settings.base_url.rstrip('/')}/alerts/unsubscribe/{token}"


UNSUBSCRIBE_PAGE = "/alerts/unsubscribe/"
ONE_CLICK_PATH = "/api/v1/unsubscribe/"


def one_click_url(page_url: str) -> str:
    """The RFC 8058 one-click endpoint (POST without a form) for an unsubscribe page URL.

    Mail clients POST ``List-Unsubscribe=One-Click`` to the ``List-Unsubscribe`` URL with
    no session or CSRF token, so that URL is the API endpoint; people get the page.
    """
    return page_url.replace(UNSUBSCRIBE_PAGE, ONE_CLICK_PATH, 1)
