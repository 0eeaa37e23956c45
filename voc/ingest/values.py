"""Parsers for the typed fields of the canonical record (DESIGN.md section 2).

Each parser takes the raw value (string from a CSV, or any JSON value) and
returns the normalised value or ``None`` for "absent"; a value that is present
but breaks a rule raises :class:`InvalidValue` whose message is the
human-readable quarantine reason (e.g. ``csat=7 is outside 1-5``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import phonenumbers

from voc.ingest.errors import InvalidValue

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}

# ISO 3166-1 alpha-2: phonenumbers knows every region with a dialling plan; add the
# few assigned codes without one, and the common aliases people use in exports.
_EXTRA_REGIONS = {"AQ", "BV", "HM", "TF", "GS", "UM", "PN"}
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | _EXTRA_REGIONS
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}

#: ISO 639-1 language codes.
_ISO_639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht "
    "hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la "
    "lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj "
    "om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv "
    "sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)
LANGUAGE_CODES = frozenset(_ISO_639_1.split())

_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})")


def is_blank(value: Any) -> bool:
    """True for None, empty strings and whitespace (CSV cells that carry nothing)."""
    # Hot path (several calls per row): no strip() copy, no isinstance() call.
    return value is None or (value.__class__ is str and (not value or value.isspace()))


def parse_datetime(value: Any, field: str = "created_at") -> datetime | None:
    """ISO 8601 (naive = UTC), "YYYY-MM-DD HH:MM[:SS]", "YYYY/MM/DD ...", RFC 2822, or
    epoch seconds (milliseconds when the number is too large for seconds)."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = _from_epoch(float(value), field, value)
    else:
        raw = str(value).strip()
        if _NUMERIC.match(raw):
            dt = _from_epoch(float(raw), field, raw)
        else:
            dt = _parse_text_date(raw, field)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    if not 1970 <= dt.year <= 2100:
        raise InvalidValue(f"{field}={_show(value)} is not a plausible date")
    return dt


def _from_epoch(number: float, field: str, shown: Any) -> datetime:
    if math.isnan(number) or math.isinf(number):
        raise InvalidValue(f"{field}={_show(shown)} is not a date")
    if abs(number) > 1e11:  # milliseconds since the epoch
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidValue(f"{field}={_show(shown)} is not a valid epoch time") from None


def _parse_text_date(raw: str, field: str) -> datetime:
    text = _SLASH_DATE.sub(r"\1-\2-\3", raw)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        raise InvalidValue(
            f"{field}={_show(raw)} is not a date (expected ISO 8601 such as 2026-11-02T10:00:00Z "
            "or epoch seconds)"
        ) from None


def parse_int_range(value: Any, field: str, low: int, high: int) -> int | None:
    """An integer in ``[low, high]``; "4", "4.0" and 4 are accepted."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{field}={_show(value)} is not a number")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InvalidValue(f"{field}={_show(value)} is not a number ({low}-{high})") from None
    if math.isnan(number) or math.isinf(number) or number != int(number):
        raise InvalidValue(f"{field}={_show(value)} is not a whole number ({low}-{high})")
    if not low <= number <= high:
        raise InvalidValue(f"{field}={_show(value)} is outside {low}-{high}")
    return int(number)


def parse_bool(value: Any, field: str) -> bool | None:
    """true/false, 1/0, yes/no (any case)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    low = str(value).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InvalidValue(f"{field}={_show(value)} is not a boolean (true/false, yes/no, 1/0)")


def parse_market(value: Any) -> str | None:
    """ISO 3166-1 alpha-2, upper-cased (UK is accepted for GB)."""
    if is_blank(value):
        return None
    code = str(value).strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if code not in COUNTRY_CODES:
        raise InvalidValue(f"market={_show(value)} is not an ISO 3166-1 alpha-2 country code")
    return code


def parse_language(value: Any) -> str | None:
    """ISO 639-1, lower-cased; a locale such as en-US or pt_BR gives its language."""
    if is_blank(value):
        return None
    code = value if value.__class__ is str and value in LANGUAGE_CODES else \
        re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]
    if code not in LANGUAGE_CODES:
        raise InvalidValue(f"language={_show(value)} is not an ISO 639-1 language code")
    return code


def parse_tags(value: Any) -> list[str]:
    """A list, or a ``;``-separated string; trimmed, empty ones dropped, order kept."""
    if is_blank(value):
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(";")
    seen: dict[str, None] = {}
    for item in items:
        tag = str(item).strip()
        if tag:
            seen.setdefault(tag[:100], None)
    return list(seen)


def parse_short_text(value: Any, field: str, max_len: int, *, lower: bool = False) -> str | None:
    """A short label (channel, product area): trimmed, at most ``max_len`` characters."""
    if is_blank(value):
        return None
    if isinstance(value, (dict, list)):
        raise InvalidValue(f"{field} must be a string, got {type(value).__name__}")
    text = str(value).replace("\x00", "").strip()
    if lower:
        text = text.lower()
    if len(text) > max_len:
        raise InvalidValue(f"{field} is longer than {max_len} characters")
    return text


def _show(value: Any) -> str:
    """A value as shown in a reason: quoted when text, cut when long."""
    plain = not isinstance(value, str) or _NUMERIC.match(value.strip())
    text = str(value).strip() if plain else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
