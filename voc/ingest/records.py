"""Raw payload -> validated canonical record (DESIGN.md section 2), or a rejection.

A :class:`RecordBuilder` applies the source's column mapping, validates and
normalises every canonical field, keeps unknown columns in ``attributes`` and
computes the content hash that makes re-ingesting identical data a no-op.
Redaction happens later, per batch (:mod:`voc.ingest.upsert`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voc.compliance.pseudonym import customer_hash
from voc.config import Settings
from voc.ingest import values as v
from voc.ingest.errors import InvalidValue
from voc.ingest.text import clean_text, has_invalid_utf8, scrub_invalid, truncate
from voc.models.feedback import FEEDBACK_KINDS

CANONICAL_FIELDS = frozenset({
    "id", "text", "created_at", "kind", "channel", "market", "language", "csat", "nps",
    "escalated", "resolved", "sla_breached", "product_area", "tags", "customer_id",
})
REQUIRED_FIELDS = ("id", "text", "created_at")
MAX_PAYLOAD_CHARS = 100_000  # quarantine keeps at most this much of a raw row


@dataclass(slots=True)
class Record:
    """A valid canonical record; ``text`` is cleaned but not yet redacted."""

    external_id: str
    text: str
    created_at: datetime
    kind: str
    channel: str | None
    market: str | None
    language: str | None
    csat: int | None
    nps: int | None
    escalated: bool | None
    resolved: bool | None
    sla_breached: bool | None
    product_area: str | None
    tags: list[str]
    customer_hash: str | None
    attributes: dict[str, Any]
    content_hash: str
    location: str
    attributes_json: str = "{}"  # canonical JSON of attributes (hashed and stored as is)


@dataclass(slots=True)
class Rejected:
    """A row that broke a rule: reason, where it was, and its raw payload (not yet redacted)."""

    reason: str
    location: str
    external_id: str | None = None
    payload: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class RecordBuilder:
    """Builds :class:`Record` objects for one source.

    ``mapping`` maps the source's own field names (dotted paths allowed for nested
    JSON, e.g. ``via.channel``) to canonical field names; unmapped fields whose name
    is canonical (case-insensitive) are taken as is; everything else goes to
    ``attributes``.
    """

    def __init__(self, settings: Settings, *, default_kind: str = "ticket",
                 mapping: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.default_kind = default_kind if default_kind in FEEDBACK_KINDS else "ticket"
        self.mapping = {str(k): str(t).strip() for k, t in (mapping or {}).items() if t}
        self._dotted = {k: t for k, t in self.mapping.items() if "." in k}
        self.max_text = settings.ingest_max_text_chars
        self._hashes: dict[str, str | None] = {}
        self._canon: dict[str, str] = {}

    # --- mapping -----------------------------------------------------------
    def split_fields(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Canonical values and attributes of a raw payload, after the mapping."""
        fields: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        mapping = self.mapping
        for key, target in self._dotted.items():
            value = _dig(payload, key)
            if value is not None and target in CANONICAL_FIELDS:
                fields[target] = value
        leftovers = []
        for key, value in payload.items():
            if key in self._dotted:  # already taken above
                continue
            target = mapping.get(key)
            if target is None:
                leftovers.append((key, value))
            elif target in CANONICAL_FIELDS and target not in fields:
                fields[target] = value
            else:
                attributes[target] = value
        for key, value in leftovers:
            if key == "attributes" and isinstance(value, dict):
                for k, val in value.items():
                    attributes.setdefault(str(k), val)
                continue
            canon = self._canon.get(key)
            if canon is None:  # column names repeat on every row: normalise each once
                name = key if key in CANONICAL_FIELDS else str(key).strip().lower()
                canon = name if name in CANONICAL_FIELDS else ""
                if len(self._canon) < 10_000:
                    self._canon[key] = canon
            if canon and canon not in fields:
                fields[canon] = value
            elif not v.is_blank(value):
                attributes[str(key)] = value
        return fields, attributes

    # --- validation --------------------------------------------------------
    def build(self, payload: Any, location: str, *, check_utf8: bool = True) -> Record | Rejected:
        """Validate one raw payload (a dict); never raises for bad data.

        ``check_utf8=False`` skips the scan for undecodable bytes when the connector
        already knows there are none.
        """
        if not isinstance(payload, Mapping):
            return Rejected(f"expected an object/row, got {type(payload).__name__}", location,
                            payload=payload)
        fields, attributes = self.split_fields(payload)
        raw_id = fields.get("id")
        # NUL never belongs in an id (and PostgreSQL refuses it in text).
        ext_id = None if v.is_blank(raw_id) else str(raw_id).replace("\x00", "").strip()
        try:
            bad = _first_invalid_utf8(fields, attributes) if check_utf8 else None
            if bad:
                raise InvalidValue(f"invalid UTF-8 in {bad} (bytes that cannot be decoded)")
            for name in REQUIRED_FIELDS:
                if v.is_blank(fields.get(name)):
                    if name == "text" and name in fields:
                        raise InvalidValue("text is empty (only whitespace)")
                    raise InvalidValue(f"missing required field '{name}'")
            if len(ext_id) > 255:
                raise InvalidValue("id is longer than 255 characters")
            raw_text = fields["text"]
            if not isinstance(raw_text, str):
                if isinstance(raw_text, (dict, list)):
                    raise InvalidValue(f"text must be a string, got {type(raw_text).__name__}")
                raw_text = str(raw_text)
            text, was_html = clean_text(raw_text)
            if not text:
                raise InvalidValue("text is empty after removing markup and whitespace"
                                   if was_html else "text is empty (only whitespace)")
            text, original_len = truncate(text, self.max_text)
            if was_html:
                attributes["text_was_html"] = True
            if original_len is not None:
                attributes["text_truncated_from"] = original_len
            kind = v.parse_short_text(fields.get("kind"), "kind", 16, lower=True) or \
                self.default_kind
            if kind not in FEEDBACK_KINDS:
                raise InvalidValue(f"kind={kind!r} is not one of {', '.join(FEEDBACK_KINDS)}")
            created_at = v.parse_datetime(fields["created_at"])
            record = Record(
                external_id=ext_id,
                text=text,
                created_at=created_at,
                kind=kind,
                channel=v.parse_short_text(fields.get("channel"), "channel", 32, lower=True),
                market=v.parse_market(fields.get("market")),
                language=v.parse_language(fields.get("language")),
                csat=v.parse_int_range(fields.get("csat"), "csat", 1, 5),
                nps=v.parse_int_range(fields.get("nps"), "nps", 0, 10),
                escalated=v.parse_bool(fields.get("escalated"), "escalated"),
                resolved=v.parse_bool(fields.get("resolved"), "resolved"),
                sla_breached=v.parse_bool(fields.get("sla_breached"), "sla_breached"),
                product_area=v.parse_short_text(fields.get("product_area"), "product_area", 100),
                tags=v.parse_tags(fields.get("tags")),
                customer_hash=self._customer_hash(fields.get("customer_id")),
                attributes=attributes,
                content_hash="",
                location=location,
            )
        except InvalidValue as exc:
            return Rejected(str(exc), location, external_id=ext_id and ext_id[:255],
                            payload=self.sanitize_payload(payload))
        record.content_hash = content_hash(record)
        return record

    def _customer_hash(self, value: Any) -> str | None:
        # Customers write again and again: cache the HMAC per builder (bounded).
        cid = _as_id(value)
        if cid is None:
            return None
        digest = self._hashes.get(cid)
        if digest is None:
            if len(self._hashes) > 20_000:  # bounded: memory stays flat
                self._hashes.clear()
            digest = self._hashes[cid] = customer_hash(cid, self.settings)
        return digest

    def sanitize_payload(self, payload: Any) -> Any:
        """The raw payload with the customer id replaced by its hash (before redaction)."""
        if not isinstance(payload, Mapping):
            return payload
        out = dict(payload)
        for key, target in list(self.mapping.items()) + [("customer_id", "customer_id")]:
            if target == "customer_id" and key in out and not v.is_blank(out[key]):
                out[key] = "hash:" + (customer_hash(_as_id(out[key]), self.settings) or "")
        return out


def content_hash(record: Record) -> str:
    """sha256 of the canonical record: equal input gives an equal hash."""
    # Joined by a control character that cleaned text never contains (much cheaper than
    # serialising the whole record as JSON); only attributes need a canonical JSON form.
    attributes = record.attributes_json = to_json(record.attributes) if record.attributes \
        else "{}"
    blob = "\x1f".join(("" if part is None else str(part)) for part in (
        record.external_id, record.text, record.created_at.isoformat(), record.kind,
        record.channel, record.market, record.language, record.csat, record.nps,
        record.escalated, record.resolved, record.sla_breached, record.product_area,
        "\x1e".join(record.tags), record.customer_hash, attributes))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


# One encoder for every row: json.dumps() with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            default=str)


def to_json(value: Any) -> str:
    """Canonical JSON (sorted keys); ``\\u0000`` dropped (PostgreSQL's JSONB refuses it)."""
    text = _ENCODER.encode(value)
    return text.replace("\\u0000", "") if "\\u0000" in text else text


def payload_to_text(payload: Any) -> str:
    """JSON text of a (sanitised) raw payload for the quarantine table, cut if huge."""
    if isinstance(payload, (bytes, bytearray)):
        payload = bytes(payload).decode("utf-8", "replace")
    try:
        text = json.dumps(payload, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(payload)
    text = scrub_invalid(text).replace("\x00", "")
    if len(text) > MAX_PAYLOAD_CHARS:
        text = text[:MAX_PAYLOAD_CHARS] + f"... [cut, {len(text)} characters in all]"
    return text


def _as_id(value: Any) -> str | None:
    if v.is_blank(value) or isinstance(value, (dict, list)):
        return None
    return str(value).strip()


def _dig(payload: Mapping[str, Any], dotted: str) -> Any:
    if dotted in payload:
        return payload[dotted]
    node: Any = payload
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _first_invalid_utf8(fields: Mapping[str, Any], attributes: Mapping[str, Any]) -> str | None:
    for source in (fields, attributes):
        for key, value in source.items():
            # isascii() is a fast C check that clears almost every value.
            if isinstance(value, str) and not value.isascii() and has_invalid_utf8(value):
                return f"field '{key}'"
            if isinstance(key, str) and not key.isascii() and has_invalid_utf8(key):
                return "a column name"
    return None
