"""Keyed hashing of customer ids (pseudonymisation)."""

from __future__ import annotations

import hashlib
import hmac

from voc.config import Settings

# Used only outside production (development, tests, demo) when no key is configured;
# config validation refuses to start production without VOC_PSEUDONYM_KEY.
_DEV_KEY = "voc-development-pseudonym-key"


def customer_hash(customer_id: str | None, settings: Settings) -> str | None:
    """HMAC-SHA256 hex of a customer id with the configured key; None for empty ids."""
    if customer_id is None:
        return None
    value = str(customer_id).strip()
    if not value:
        return None
    key = (settings.pseudonym_key or _DEV_KEY).encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
