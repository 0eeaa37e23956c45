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
from datetime import UTC, datetime
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

# Plan steps (see RecordBuilder._plan): a canonical field, an attribute always kept (mapped to
# a non-canonical name), an attribute kept unless blank, a nested "attributes" object merged.
_FIELD, _ALWAYS, _NOT_BLANK, _NESTED = range(4)
#: (canonical (column, field) pairs, attribute (column, name, step) triples)
_Plan = tuple[tuple[tuple[Any, str], ...], tuple[tuple[Any, str, int], ...]]
_MEMO_MAX = 4096  # label combinations remembered per builder


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
    redacted: str | None = None  # ``text`` after PII redaction, once done (else at upsert)
    prepared: str | None = None  # the row as the writer sends it, once done (else at upsert)


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
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        # The label fields (kind, channel, market, csat "4", ...) repeat across rows in a few
        # combinations: each distinct combination of raw strings is parsed once. Only valid
        # combinations are kept, so a bad value is parsed (and reported) every time.
        self._labels: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    # --- mapping -----------------------------------------------------------
    def split_fields(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Canonical values and attributes of a raw payload, after the mapping."""
        if self._dotted:  # nested look-ups depend on the values: the general walk
            return self._split_general(payload)
        # Rows of one file or feed repeat the same columns: where each column goes is
        # worked out once per column tuple (a plan) and replayed for every row.
        keys = tuple(payload)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plan(keys)
        fields = {name: payload[key] for key, name in plan[0]}
        attributes: dict[str, Any] = {}
        for key, name, op in plan[1]:
            value = payload[key]
            if op == _NESTED and isinstance(value, dict):
                for k, val in value.items():
                    attributes.setdefault(str(k), val)
            elif op == _ALWAYS or not v.is_blank(value):
                attributes[name] = value
        return fields, attributes

    def _plan(self, keys: tuple[Any, ...]) -> _Plan:
        """Where each column of ``keys`` goes: the walk of :meth:`_split_general`, by name."""
        mapping = self.mapping
        taken: set[str] = set()
        steps: list[tuple[Any, str, int]] = []
        for key in keys:  # mapped columns first, as the general walk does
            target = mapping.get(key)
            if target is None:
                continue
            if target in CANONICAL_FIELDS and target not in taken:
                taken.add(target)
                steps.append((key, target, _FIELD))
            else:
                steps.append((key, target, _ALWAYS))
        for key in keys:  # then the unmapped ones
            if mapping.get(key) is not None:
                continue
            canon = self._canonical(key)
            if key == "attributes":
                steps.append((key, str(key), _NESTED))
            elif canon and canon not in taken:
                taken.add(canon)
                steps.append((key, canon, _FIELD))
            else:
                steps.append((key, str(key), _NOT_BLANK))
        plan = (tuple((k, n) for k, n, op in steps if op == _FIELD),
                tuple(step for step in steps if step[2] != _FIELD))
        if len(self._plans) >= 256:  # bounded: memory stays flat on ragged JSON
            self._plans.clear()
        self._plans[keys] = plan
        return plan

    def _canonical(self, key: Any) -> str:
        canon = self._canon.get(key)
        if canon is None:  # column names repeat on every row: normalise each once
            name = key if key in CANONICAL_FIELDS else str(key).strip().lower()
            canon = name if name in CANONICAL_FIELDS else ""
            if len(self._canon) < 10_000:
                self._canon[key] = canon
        return canon

    def _split_general(self, payload: Mapping[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
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
            canon = self._canonical(key)
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
        get = fields.get
        raw_id = get("id")
        # NUL never belongs in an id (and PostgreSQL refuses it in text).
        ext_id = None if v.is_blank(raw_id) else str(raw_id).replace("\x00", "").strip()
        try:
            bad = _first_invalid_utf8(fields, attributes) if check_utf8 else None
            if bad:
                raise InvalidValue(f"invalid UTF-8 in {bad} (bytes that cannot be decoded)")
            if ext_id is None:
                raise InvalidValue("missing required field 'id'")
            raw_text = get("text")
            if v.is_blank(raw_text):
                raise InvalidValue("text is empty (only whitespace)" if "text" in fields
                                   else "missing required field 'text'")
            raw_created = get("created_at")
            if v.is_blank(raw_created):
                raise InvalidValue("missing required field 'created_at'")
            if len(ext_id) > 255:
                raise InvalidValue("id is longer than 255 characters")
            if raw_text.__class__ is not str:
                if isinstance(raw_text, (dict, list)):
                    raise InvalidValue(f"text must be a string, got {type(raw_text).__name__}")
                raw_text = str(raw_text)
            text, was_html = clean_text(raw_text)
            if not text:
                raise InvalidValue("text is empty after removing markup and whitespace"
                                   if was_html else "text is empty (only whitespace)")
            original_len = None
            if len(text) > self.max_text > 0:
                text, original_len = truncate(text, self.max_text)
            if was_html:
                attributes["text_was_html"] = True
            if original_len is not None:
                attributes["text_truncated_from"] = original_len
            raw_labels = (get("kind"), get("channel"), get("market"), get("language"),
                          get("csat"), get("nps"), get("escalated"), get("resolved"),
                          get("sla_breached"), get("product_area"), get("tags"))
            try:
                labels = self._labels.get(raw_labels)
            except TypeError:  # a list or object value (JSON): not remembered
                labels = None
            if labels is None:
                labels = self._parse_labels(raw_labels, raw_created)
                created_at = labels[-1]
                labels = labels[:-1]
            else:
                created_at = _parse_created_at(raw_created)
            record = Record(ext_id, text, created_at, *labels[:-1], list(labels[-1]),
                            self._customer_hash(get("customer_id")), attributes, "", location)
        except InvalidValue as exc:
            return Rejected(str(exc), location, external_id=ext_id and ext_id[:255],
                            payload=self.sanitize_payload(payload))
        record.content_hash = content_hash(record)
        return record

    def _parse_labels(self, raw: tuple[Any, ...], raw_created: Any) -> tuple[Any, ...]:
        """Parse the label fields (and created_at, checked between kind and the rest, as
        ever: the first broken rule names the reason); remember valid string combinations.

        Returns Record's fields from ``kind`` to ``tags`` (tags as a tuple), then created_at.
        """
        kind = v.parse_short_text(raw[0], "kind", 16, lower=True) or self.default_kind
        if kind not in FEEDBACK_KINDS:
            raise InvalidValue(f"kind={kind!r} is not one of {', '.join(FEEDBACK_KINDS)}")
        created_at = _parse_created_at(raw_created)
        labels = (
            kind,
            v.parse_short_text(raw[1], "channel", 32, lower=True),
            v.parse_market(raw[2]),
            v.parse_language(raw[3]),
            v.parse_int_range(raw[4], "csat", 1, 5),
            v.parse_int_range(raw[5], "nps", 0, 10),
            v.parse_bool(raw[6], "escalated"),
            v.parse_bool(raw[7], "resolved"),
            v.parse_bool(raw[8], "sla_breached"),
            v.parse_short_text(raw[9], "product_area", 100),
            tuple(v.parse_tags(raw[10])),
        )
        # Only strings and None: 1, 1.0 and True are equal keys but not equal values here.
        if all(x is None or x.__class__ is str for x in raw):
            if len(self._labels) >= _MEMO_MAX:  # bounded: memory stays flat
                self._labels.clear()
            self._labels[raw] = labels
        return (*labels, created_at)

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
                cid = _as_id(out[key])  # undecodable bytes cannot be hashed as they are
                cid = scrub_invalid(cid) if cid and has_invalid_utf8(cid) else cid
                out[key] = "hash:" + (customer_hash(cid, self.settings) or "")
        return out


def _parse_created_at(value: Any) -> datetime:
    """``v.parse_datetime``, with the common ISO 8601 string parsed by the C parser first."""
    if value.__class__ is str and len(value) >= 10 and value[4] == "-":
        # Not a number nor a slash date, so v.parse_datetime would try fromisoformat first too.
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return v.parse_datetime(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        elif dt.tzinfo is not UTC:
            dt = dt.astimezone(UTC)
        if 1970 <= dt.year <= 2100:
            return dt
    return v.parse_datetime(value)  # also words the reason for implausible years


def content_hash(record: Record) -> str:
    """sha256 of the canonical record: equal input gives an equal hash."""
    # Joined by a control character that cleaned text never contains (much cheaper than
    # serialising the whole record as JSON); only attributes need a canonical JSON form.
    attributes = record.attributes_json = to_json(record.attributes) if record.attributes \
        else "{}"
    r = record
    # Each part as str(part), "" for None (spelled out: a generator costs more than the hash).
    blob = "\x1f".join((
        r.external_id, r.text, r.created_at.isoformat(), r.kind, r.channel or "",
        r.market or "", r.language or "", "" if r.csat is None else str(r.csat),
        "" if r.nps is None else str(r.nps), "" if r.escalated is None else str(r.escalated),
        "" if r.resolved is None else str(r.resolved),
        "" if r.sla_breached is None else str(r.sla_breached), r.product_area or "",
        "\x1e".join(r.tags), r.customer_hash or "", attributes))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


_encode_str = json.encoder.encode_basestring  # what _ENCODER uses for strings (ensure_ascii off)
# One encoder for every row: json.dumps() with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            default=str)


def to_json(value: Any) -> str:
    """Canonical JSON (sorted keys); ``\\u0000`` dropped (PostgreSQL's JSONB refuses it)."""
    text = _flat_json(value) if value.__class__ is dict else None
    if text is None:
        text = _ENCODER.encode(value)
    return text.replace("\\u0000", "") if "\\u0000" in text else text


def _flat_json(value: dict[Any, Any]) -> str | None:
    """The encoder's very text for a dict of strings (CSV columns), built directly; None for
    any other key or value (or unsortable keys): the encoder decides those."""
    try:
        return "{" + ",".join([_encode_str(k) + ":" + _encode_str(x)
                               for k, x in sorted(value.items())]) + "}"
    except TypeError:
        return None


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
