"""PII redaction (GDPR): replace personal data with typed placeholders.

Interface used by ingestion and the ``redact`` command:
``redact(text) -> str``, ``redact_many(texts) -> list[str]`` and, for evaluation,
``find_pii(text) -> list[Span]``.

What is found, and how it is told apart from harmless numbers:

- ``[EMAIL]``  addresses ``local@domain.tld``.
- ``[URL]``    links that carry secrets: query keys such as ``token=``, ``key=``, ``sig=``,
  ``session=``, ``code=``, reset/verify/magic-login paths, or an e-mail inside the link.
  Plain links (``https://example.com/help``) are kept.
- ``[CARD]``   13-19 digits (spaces/dashes allowed) that pass the Luhn check.
- ``[IBAN]``   country code + check digits + account, valid under ISO 7064 mod-97.
- ``[PHONE]``  international (``+44 20 7946 0958``, ``0044 ...``), bracketed area codes
  (``(555) 123-4567``), grouped national numbers (``0176 12345678``, ``555-123-4567``)
  and bare digit runs when a phone word (call, phone, tel, mobile, ...) is just before.
- ``[ID]``     US SSN ``123-45-6789``, UK National Insurance ``AB 12 34 56 C``, and
  numbers right after an id word (passport, SSN, tax id, licence number, ...).
- ``[ADDRESS]`` street number + street word (``221B Baker Street``, ``12 Main St``),
  continental ``Hauptstraße 5``, ``P.O. Box 12``, UK postcodes, US ``ST 12345`` ZIPs.
- ``[NAME]``   "my name is X Y"-style introductions always; other person names only when a
  trained spaCy pipeline is configured (:func:`configure`, ``VOC_SPACY_MODEL``). With no
  trained pipeline installed, names elsewhere in the text are NOT redacted.

Near-misses that are kept on purpose: order/ticket/tracking ids (``#A-123456``,
``order 1234567``), dates, times, prices and amounts, version strings (``8.4.1``), years,
short numbers. Speed matters (ingestion redacts every row): each family of patterns runs
only when a cheap pre-check (``@``, ``://``, a digit run) says it could match.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "ADDRESS", "URL", "ID", "NAME")


@dataclass(frozen=True, slots=True)
class Span:
    """One piece of personal data: its kind (``EMAIL``, ``PHONE``, ...) and character range."""

    kind: str
    start: int
    end: int


# --- pre-checks ------------------------------------------------------------------------------
# Every digit-based family needs a run of at least 5 digits (allowing separators), except the
# street-number address forms, which have their own word pre-check.
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){4}")
_ANY_DIGIT = re.compile(r"\d")
# Python's ``re`` walks the text position by position (~10 ns a character) for patterns that
# open with a look-behind or ``\b``; ``str``/``bytes`` methods scan far faster. So ASCII text
# is checked for digits with ``in`` (memchr), counted with ``bytes.translate``, and every
# pattern whose match must contain a digit starts its search a few characters before the
# first digit (exact: look-behinds and ``\b`` still see the characters before ``pos``).
_ASCII_DIGITS = b"0123456789"


def _has_ascii_digit(text: str) -> bool:
    return ("0" in text or "1" in text or "2" in text or "3" in text or "4" in text
            or "5" in text or "6" in text or "7" in text or "8" in text or "9" in text)

# --- e-mail and URLs -------------------------------------------------------------------------
# Searched from the "@" (a literal prefix is fast in ``re``); the local part is walked back.
_EMAIL_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_SECRET = re.compile(
    r"[?&;#](?:[\w.-]*?(?:token|key|sig|signature|session|sessionid|sid|auth|code|password|"
    r"passwd|pwd|secret|jwt|otp|hash|ticket|nonce|email|user(?:_?id)?|uid))=",
    re.IGNORECASE,
)
_URL_SECRET_PATH = re.compile(
    r"eyJ[\w-]{8,}|"  # a JWT anywhere in the link
    r"/(?:reset|password-reset|reset-password|recover|verify|verification|confirm|magic|"
    r"unsubscribe|invite|activate|login/token|auth)[\w/-]*/[\w-]{12,}",
    re.IGNORECASE,
)

# --- numbers ---------------------------------------------------------------------------------
# A candidate number: optional + or (, digits with single separators; at least 7 digits.
_NUMBER = re.compile(
    r"(?<![\w#/.,\-+])(?:\+\s?)?\(?\d(?:\d|(?:\)\s?|[ \-./]\(?|\s?\()(?=\d))*\)?(?![\w])"
)
_CARD_GROUPS = re.compile(r"\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5}")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b", re.I)
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_NINO = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
_ID_CONTEXT = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?)?|passport(?: number| no\.?)?|"
    r"national id(?:entity)?(?: number| no\.?)?|id card(?: number| no\.?)?|tax id|"
    r"steuer-?id|steuernummer|personalausweis(?:nummer)?|ausweisnummer|"
    r"driver'?s licen[cs]e(?: number| no\.?)?|licen[cs]e number|nin|ni number|"
    r"national insurance(?: number| no\.?)?|dni|bsn|codice fiscale|pesel)"
    r"\s*(?:is|:|#|=|no\.?|number)?\s*(?:is\s*)?[:#]?\s*"
    r"([A-Z0-9]*\d[A-Z0-9]*(?:[ \-][A-Z0-9]*\d[A-Z0-9]*){0,4})\b",
    re.IGNORECASE,
)


def _has_id_word(low: str) -> bool:
    """Every _ID_CONTEXT match contains one of these words; for ASCII text ``lower()`` equals
    the pattern's IGNORECASE folding, so an ASCII text with none of them cannot match."""
    return ("ssn" in low or "social security" in low or "passport" in low or "national" in low
            or "id card" in low or "tax id" in low or "steuer" in low or "ausweis" in low
            or "licen" in low or "nin" in low or "ni number" in low or "dni" in low
            or "bsn" in low or "codice fiscale" in low or "pesel" in low)

_PHONE_CONTEXT = re.compile(
    r"(?:call|phone|tel|telephone|mobile|cell|whatsapp|sms|text me|fax|ring|reach me|"
    r"(?:my|contact|home|work|direct|landline)\s(?:number|no)|nummer|handy|telefon|tél|"
    r"téléphone|portable|appelez|llámame|numero|número)"
    r"[^\w\n]{0,3}(?:\w+[^\w\n]{1,2}){0,3}$",
    re.IGNORECASE,
)
_NOT_PHONE_CONTEXT = re.compile(
    r"(?:order|ticket|case|invoice|ref|reference|tracking|shipment|parcel|sku|item|article|"
    r"model|serial|version|build|account|acct|customer|member|booking|confirmation|"
    r"transaction|receipt|policy|claim|id|no|po)[^\w\n]{0,3}(?:number|no|nr|num|#|id)?"
    r"[^\w\n]{0,3}(?:is|was|:)?[^\w\n]{0,3}$",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"(?:[ T]\d{1,2}[:.]\d{2})?$"
)
_VERSION_LIKE = re.compile(r"^\d{1,3}(?:\.\d{1,4}){2,}$")
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹]|usd|eur|gbp|chf|sek|nok|dkk|pln|rs\.?)\s?$", re.I)
_CURRENCY_AFTER = re.compile(
    r"^\s?(?:[$€£¥₹%]|usd|eur|gbp|chf|sek|nok|dkk|pln|dollars?|euros?|pounds?|kg|km|mb|gb|"
    r"tb|ms|points?|pts|items?|units?|pcs|times)\b",
    re.I,
)

# --- addresses -------------------------------------------------------------------------------
_STREET_WORDS = (
    r"Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|"
    r"Close|Crescent|Cres|Terrace|Terr|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|"
    r"Gardens|Grove|Mews"
)
_CAP = r"[A-Z][\w'’\-]*"
_US_STATE = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    r"NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_UK_POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_TOWN = r"[A-Z][a-zà-ÿ'’\-]+(?:\s[A-Z][a-zà-ÿ'’\-]+){0,2}"
_ADDRESS_TAIL = (
    rf"(?:,?\s(?:Apt|Apartment|Suite|Flat|Unit)\.?\s?#?\w+)?"
    rf"(?:,\s?{_TOWN})?"
    rf"(?:,?\s(?:(?:{_US_STATE})\s\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE}|\d{{4,5}}(?:\s{_CAP})?))?"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[a-hA-H]?\s(?:{_CAP}\s){{1,3}}(?:{_STREET_WORDS})\b\.?{_ADDRESS_TAIL}"
)
_STREET_SUFFIXES = (r"straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|laan|"
                    r"straat|gracht|plein|vej|gatan|gata|veien")
_STREET_CONTINENTAL = re.compile(
    rf"\b[A-ZÄÖÜ][\wäöüßéèà'\-]*(?:{_STREET_SUFFIXES})"
    r"\s\d{1,3}(?![\d.,]\d)\s?[a-zA-Z]?\b"
    r"(?:,\s?\d{4,5}\s[A-ZÄÖÜ][\wäöüß\-]+)?",
    re.UNICODE,
)
_STREET_ROMANCE = re.compile(
    r"\b(?:\d{1,4},?\s)?(?:rue|avenue|boulevard|bd|chemin|place|via|viale|piazza|calle|avenida|"
    r"plaza|rua|carrer)\s(?:(?:de|del|la|le|des|du|di|da|dos)\s){0,2}"
    r"[A-ZÀ-Ý][a-zà-ÿ'’\-]+(?:\s[A-ZÀ-Ý][a-zà-ÿ'’\-]+){0,2}(?:,?\s\d{1,4}(?![.,]\d))?"
    r"(?:,\s?\d{5}\s[A-ZÀ-Ý][\w\-]+)?",
    re.IGNORECASE,
)
_PO_BOX = re.compile(r"\b(?:P\.?\s?O\.?\s?Box|Postfach)\s\d{1,6}\b", re.IGNORECASE)
_UK_POSTCODE_RE = re.compile(rf"\b{_UK_POSTCODE}\b")
_US_ZIP = re.compile(rf"\b[A-Z][a-z]+,\s(?:{_US_STATE})\s\d{{5}}(?:-\d{{4}})?\b")
# cheap hints that decide which address patterns are worth running
_STREET_HINT = re.compile(r"\d[a-hA-H]? [A-Z]")
_NUMBER_AFTER_WORD = re.compile(r"[a-zß.] \d")
_ROMANCE_WORDS = ("rue ", "via ", "viale ", "piazza ", "calle ", "avenida ", "plaza ", "rua ",
                  "carrer ", "chemin ", "place ", "avenue ", "boulevard ", "bd ")
_NO_DIGITS = str.maketrans("", "", "0123456789")

# --- names -----------------------------------------------------------------------------------
_NAME_WORD = r"[A-ZÀ-Ý][a-zà-ÿ'’\-]+"
_NAME_INTRO = re.compile(
    rf"\b(?:[Mm]y name is|[Mm]y name's|[Ii] am called|[Tt]his is|"
    rf"[Mm]ein [Nn]ame ist|[Ii]ch hei(?:ß|ss)e|[Jj]e m'appelle|[Mm]e llamo|[Mm]i chiamo)\s"
    rf"((?:Mr|Mrs|Ms|Dr|Herr|Frau)\.?\s)?({_NAME_WORD}(?:\s{_NAME_WORD}){{0,2}})"
)
# "This is X" only introduces the writer when followed by "from/here/speaking" or a comma.
_THIS_IS_FOLLOW = re.compile(r"\s?(?:,|\s(?:from|here|speaking|calling|with)\b)")
# "This is Support" / "This is great": an intro only counts when the words look like a name.
_NOT_NAME_WORDS = (
    "The A An It This That My Your Our Their Not So Very Really Just Still Also Great Good "
    "Bad Terrible Awful Amazing Ridiculous Unacceptable Absolutely Why How What When Where "
    "Support Customer Service Team Sales Billing Help Urgent Important Day Week Month"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26,
    "IT": 27, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "ME": 22, "MK": 19, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
    "UA": 29, "VA": 22, "XK": 20,
}


def luhn_ok(digits: str) -> bool:
    """True if the digit string passes the Luhn checksum (payment cards)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """True if ``iban`` (no spaces) has a plausible length and passes ISO 7064 mod-97."""
    iban = iban.upper()
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not 15 <= len(iban) <= 34 or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    try:
        number = "".join(str(int(ch, 36)) for ch in moved)
    except ValueError:
        return False
    return int(number) % 97 == 1


# --- finders ---------------------------------------------------------------------------------


def _find_emails(text: str, out: list[Span]) -> None:
    for m in _EMAIL_DOMAIN.finditer(text):
        start = m.start()
        while start > 0 and (text[start - 1] in _LOCAL_CHARS or text[start - 1].isalnum()):
            start -= 1
        if start < m.start():
            out.append(Span("EMAIL", start, m.end()))


def _find_urls(text: str, out: list[Span]) -> None:
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]}'\"")
        if _URL_SECRET.search(url) or _URL_SECRET_PATH.search(url) or "@" in url:
            out.append(Span("URL", m.start(), m.start() + len(url)))


def _find_ibans(text: str, out: list[Span], first_digit: int = 0) -> None:
    # two letters, then the check digits: a match starts at most 2 characters before a digit
    for m in _IBAN.finditer(text, max(0, first_digit - 2)):
        raw = m.group(1)
        compact = raw.replace(" ", "").upper()
        expected = _IBAN_LENGTHS.get(compact[:2])
        if expected and len(compact) > expected:
            # the greedy match ran into a following token: cut at the IBAN's own length
            keep, n = 0, 0
            while n < expected and keep < len(raw):
                if raw[keep] != " ":
                    n += 1
                keep += 1
            raw, compact = raw[:keep], compact[:expected]
        if iban_ok(compact):
            out.append(Span("IBAN", m.start(1), m.start(1) + len(raw)))


def _find_ids(text: str, out: list[Span], first_digit: int = 0, low: str | None = None) -> None:
    for m in _SSN.finditer(text, first_digit):  # starts with a digit
        out.append(Span("ID", m.start(), m.end()))
    for m in _NINO.finditer(text, max(0, first_digit - 3)):  # "AB 12": 3 before the digit
        out.append(Span("ID", m.start(), m.end()))
    if low is not None and not _has_id_word(low):
        return  # ASCII text (``low`` given) without any id word
    for m in _ID_CONTEXT.finditer(text):
        value = m.group(1)
        if sum(c.isdigit() for c in value) >= 4:
            out.append(Span("ID", m.start(1), m.end(1)))


def _classify_number(text: str, start: int, end: int) -> str | None:
    """Decide whether the digit candidate ``text[start:end]`` is a CARD, a PHONE or neither."""
    cand = text[start:end]
    digits = "".join(c for c in cand if c.isdigit())
    n = len(digits)
    if n < 7 or n > 19:
        return None
    before = text[max(0, start - 30):start]
    phone_ctx = _PHONE_CONTEXT.search(before) is not None
    if _DATE_LIKE.match(cand) or (_VERSION_LIKE.match(cand) and not phone_ctx):
        return None
    after = text[end:end + 12]
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
        return None
    has_sep = any(c in " -./()" for c in cand)
    # a card: 13-19 digits, bare or in groups of 4 (Amex 4-6-5), Luhn-valid
    if (13 <= n <= 19 and not cand.startswith("+") and "(" not in cand
            and (not has_sep or _CARD_GROUPS.fullmatch(cand)) and luhn_ok(digits)):
        return "CARD"
    if n > 15:
        return None
    not_phone_ctx = _NOT_PHONE_CONTEXT.search(before) is not None and not phone_ctx
    if not_phone_ctx:
        return None
    if cand.startswith("+") or cand.startswith("00"):
        return "PHONE" if 8 <= n - (2 if cand.startswith("00") else 0) <= 15 else None
    if cand.startswith("(") and n >= 9:
        return "PHONE"
    if "." in cand and not phone_ctx:
        return None  # 12.345.678 is an amount, 1.2.3456 a version; dotted phones need context
    if phone_ctx:
        return "PHONE"
    if has_sep:
        groups = re.split(r"[ \-./()]+", cand.strip("()"))
        # national formats: 555-123-4567, 020 7946 0958, 0176 12345678, 06 12 34 56 78
        if digits.startswith("0") and 9 <= n <= 12:
            return "PHONE"
        if n == 10 and [len(g) for g in groups] in ([3, 3, 4], [3, 7]):
            return "PHONE"
        if n == 11 and digits.startswith("1") and len(groups) >= 3:
            return "PHONE"
        return None
    if digits.startswith("0") and 10 <= n <= 12 and digits[1] != "0":
        return "PHONE"  # 07700900123, 017612345678
    return None


def _find_numbers(text: str, out: list[Span], first_digit: int = 0) -> None:
    # "+ (" at most before the first digit of a candidate
    for m in _NUMBER.finditer(text, max(0, first_digit - 3)):
        start, end = m.start(), m.end()
        # a leading "(" belongs to the number only when it closes again inside it
        if text[start] == "(" and ")" not in text[start:end]:
            start += 1
        if text[end - 1] == ")" and "(" not in text[start:end]:
            end -= 1
        # "555-123-4567 2 times": retry without trailing space-separated groups
        for _ in range(3):
            kind = _classify_number(text, start, end)
            if kind:
                out.append(Span(kind, start, end))
                break
            cut = text.rfind(" ", start, end)
            if cut <= start:
                break
            end = cut


def _find_addresses(text: str, low: str, n_digits: int, out: list[Span],
                    first_digit: int = 0) -> None:
    # (pattern, where its search may start): digit-led patterns start at the first digit
    patterns: list[tuple[re.Pattern[str], int]] = []
    if _STREET_HINT.search(text, first_digit) is not None:
        patterns.append((_STREET, first_digit))
    if _NUMBER_AFTER_WORD.search(text, max(0, first_digit - 2)) is not None:
        patterns.append((_STREET_CONTINENTAL, 0))
        if any(w in low for w in _ROMANCE_WORDS):
            patterns.append((_STREET_ROMANCE, 0))
    if "box " in low or "postfach" in low:
        patterns.append((_PO_BOX, 0))
    if n_digits >= 2:
        patterns.append((_UK_POSTCODE_RE, max(0, first_digit - 2)))
    if n_digits >= 5 and "," in text:  # "Springfield, IL 62704"
        patterns.append((_US_ZIP, 0))
    for rx, pos in patterns:
        for m in rx.finditer(text, pos):
            span = m.group(0).rstrip(" ,")
            if rx is _STREET_ROMANCE and not any(c.isdigit() for c in span):
                continue  # "place de la Concorde" alone is a place, not an address
            out.append(Span("ADDRESS", m.start(), m.start() + len(span)))


def _find_intro_names(text: str, out: list[Span]) -> None:
    for m in _NAME_INTRO.finditer(text):
        words = m.group(2).split()
        while words and words[-1] in _NOT_NAMES:
            words.pop()
        if not words or words[0] in _NOT_NAMES:
            continue
        end = m.start(2) + len(" ".join(words))
        if m.group(0)[:4].lower() == "this" and not _THIS_IS_FOLLOW.match(text, end):
            continue
        start = m.start(1) if m.group(1) else m.start(2)
        out.append(Span("NAME", start, end))


# Higher wins when spans overlap (a card inside a URL is still a URL, an IBAN is not a phone).
_PRIORITY = {"URL": 8, "EMAIL": 7, "IBAN": 6, "CARD": 5, "ID": 4, "PHONE": 3, "ADDRESS": 2,
             "NAME": 1}


def _resolve(spans: list[Span]) -> list[Span]:
    """Drop overlaps: keep the higher-priority (then longer) span; return sorted by start."""
    if len(spans) <= 1:
        return spans
    ranked = sorted(spans, key=lambda s: (-_PRIORITY[s.kind], -(s.end - s.start), s.start))
    kept: list[Span] = []
    for s in ranked:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    kept.sort(key=lambda s: s.start)
    return kept


class Redactor:
    """Finds and replaces PII; optionally uses a trained spaCy pipeline for person names."""

    def __init__(self, spacy_model: str = "") -> None:
        self.spacy_model = spacy_model
        self._nlp: Any = None
        self._nlp_failed = False

    @property
    def names_enabled(self) -> bool:
        """True when a trained spaCy pipeline with an NER component is loaded or loadable."""
        return self._ner() is not None

    def _ner(self) -> Any:
        if not self.spacy_model or self._nlp_failed:
            return None
        if self._nlp is None:
            try:
                import spacy

                self._nlp = spacy.load(self.spacy_model, disable=["lemmatizer", "parser"])
                if "ner" not in self._nlp.pipe_names:
                    raise ValueError("pipeline has no 'ner' component")
            except (OSError, ImportError, ValueError) as exc:
                log.warning("person-name redaction off: spaCy pipeline %r unusable (%s)",
                            self.spacy_model, exc)
                self._nlp_failed = True
                self._nlp = None
                return None
        return self._nlp

    def find(self, text: str) -> list[Span]:
        """All PII spans in ``text`` (non-overlapping, sorted)."""
        if not text:
            return []
        spans: list[Span] = []
        if "@" in text:
            _find_emails(text, spans)
        if "://" in text or "www." in text:
            _find_urls(text, spans)
        low = text.lower()
        ascii_text = text.isascii()
        # ASCII text: any digit at all? (other scripts' digits count for ``\d`` too)
        found = None if ascii_text and not _has_ascii_digit(text) else _ANY_DIGIT.search(text)
        if found is not None:
            first_digit = found.start()
            # each family needs a minimum number of digits: skip the regexes that cannot match
            n_digits = len(text) - len(text.encode().translate(None, _ASCII_DIGITS)) \
                if ascii_text else len(text) - len(text.translate(_NO_DIGITS))
            if n_digits >= 7:
                _find_numbers(text, spans, first_digit)
                _find_ibans(text, spans, first_digit)
            if n_digits >= 4:  # "AB 12 34 56 C", "passport L01X00T47"
                _find_ids(text, spans, first_digit, low if ascii_text else None)
            _find_addresses(text, low, n_digits, spans, first_digit)
        if ("name" in low or "this is" in low or "called" in low or "ch hei" in low
                or "m'appelle" in low or "llamo" in low or "chiamo" in low):
            _find_intro_names(text, spans)
        nlp = self._ner()
        if nlp is not None:
            for ent in nlp(text).ents:
                if ent.label_ in ("PERSON", "PER"):
                    spans.append(Span("NAME", ent.start_char, ent.end_char))
        return _resolve(spans)

    def redact(self, text: str) -> str:
        """``text`` with every span replaced by its ``[KIND]`` placeholder."""
        if not text:
            return text
        spans = self.find(text)
        if not spans:
            return text
        parts: list[str] = []
        pos = 0
        for s in spans:
            parts.append(text[pos:s.start])
            parts.append(f"[{s.kind}]")
            pos = s.end
        parts.append(text[pos:])
        return "".join(parts)


_DEFAULT = Redactor()


def configure(spacy_model: str = "") -> Redactor:
    """Set the process-wide redactor (call with ``settings.spacy_model`` at start-up)."""
    global _DEFAULT
    if spacy_model != _DEFAULT.spacy_model:
        _DEFAULT = Redactor(spacy_model)
    return _DEFAULT


def find_pii(text: str) -> list[Span]:
    """PII spans in ``text`` (kind, start, end), non-overlapping and sorted by start."""
    return _DEFAULT.find(text)


def redact(text: str) -> str:
    """Return ``text`` with personal data replaced by placeholders such as ``[EMAIL]``."""
    return _DEFAULT.redact(text)


def redact_many(texts: Iterable[str]) -> list[str]:
    """Redact a batch of texts."""
    r = _DEFAULT.redact
    return [r(t) for t in texts]


def redact_nested(payloads: Sequence[Any]) -> list[Any]:
    """Redact every string inside JSON-like payloads (dicts, lists, nested), as one batch.

    Used for quarantined raw payloads: the structure is kept, only text values change.
    """
    strings: list[str] = []

    def collect(obj: Any) -> None:
        if isinstance(obj, str):
            strings.append(obj)
        elif isinstance(obj, dict):
            for value in obj.values():
                collect(value)
        elif isinstance(obj, list):
            for value in obj:
                collect(value)

    for payload in payloads:
        collect(payload)
    clean = iter(redact_many(strings))

    def rebuild(obj: Any) -> Any:
        if isinstance(obj, str):
            return next(clean)
        if isinstance(obj, dict):
            return {k: rebuild(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [rebuild(v) for v in obj]
        return obj

    return [rebuild(p) for p in payloads]
