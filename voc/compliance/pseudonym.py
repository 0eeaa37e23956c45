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


def customer_hashes(customer_id: str | None, settings: Settings) -> list[str]:
    """The id's hash under the current key, then under each retired key (for erasure).

    After a key rotation items ingested earlier carry hashes made with the old key;
    listing the old keys in ``VOC_PSEUDONYM_PREVIOUS_KEYS`` lets erasure find them.
    """
    current = customer_hash(customer_id, settings)
    if current is None:
        return []
    out = [current]
    value = str(customer_id).strip().encode()
    for key in (k.strip() for k in settings.pseudonym_previous_keys.split(",")):
        if key:
            digest = hmac.new(key.encode(), value, hashlib.sha256).hexdigest()
            if digest not in out:
                out.append(digest)
    return out
