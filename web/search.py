"""Verbatim search: filters, full-text match, keyset pagination, highlighting.

Plain SQLAlchemy (no Flask) so the pages, the API, the CSV export and the benchmark
share one query builder. User input only ever reaches the database as bound
parameters; full-text queries are rebuilt from word tokens so that no user syntax
can raise:
- PostgreSQL: ``to_tsvector('simple', text) @@ websearch_to_tsquery('simple', :q)``
  (websearch syntax never errors), served by the partial GIN index ``ix_feedback_text_tsv``
  of enriched items; while items await enrichment a second arm reaches them through
  ``ix_feedback_enriched_at`` (:func:`pg_text_match`).
- SQLite: ``feedback.id IN (SELECT rowid FROM feedback_fts WHERE feedback_fts MATCH :q)``
  where ``:q`` is built from quoted tokens/phrases only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from voc.models.feedback import Feedback, Source
from voc.models.web import TS_CONFIG

try:
    from voc.compliance.retention import EXPIRED_TEXT
except ImportError:  # the compliance area is optional here
    EXPIRED_TEXT = "[expired]"

MAX_QUERY_LEN = 200
MAX_TERMS = 12
SENTIMENTS = ("negative", "neutral", "positive", "unsupported")
_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(-?)([^\s"]+)')
_WORD_RE = re.compile(r"\w+", re.UNICODE)


class FilterError(ValueError):
    """A filter value is malformed; the message names the field."""


@dataclass(frozen=True)
class VerbatimFilters:
    """What the user asked for; every field optional. Build with :meth:`from_args`."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    topic_id: int | None = None
    policy: str | None = None
    market: str | None = None
    channel: str | None = None
    language: str | None = None
    sentiment: str | None = None
    csat_min: int | None = None
    csat_max: int | None = None
    escalated: bool | None = None
    source: str | None = None
    kind: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> VerbatimFilters:
        """Parse query-string style arguments; raises :class:`FilterError` when malformed."""
        def s(name: str, maxlen: int = 100) -> str | None:
            v = (args.get(name) or "").strip()
            return v[:maxlen] or None

        def d(name: str) -> date | None:
            v = s(name, 10)
            if not v:
                return None
            try:
                return date.fromisoformat(v)
            except ValueError:
                raise FilterError(f"{name}: expected a date like 2026-11-25") from None

        def i(name: str, lo: int, hi: int) -> int | None:
            v = s(name, 12)
            if v is None:
                return None
            try:
                n = int(v)
            except ValueError:
                raise FilterError(f"{name}: expected a whole number") from None
            if not lo <= n <= hi:
                raise FilterError(f"{name}: expected {lo}-{hi}")
            return n

        esc = s("escalated", 5)
        if esc not in (None, "yes", "no", "true", "false", "1", "0"):
            raise FilterError("escalated: expected yes or no")
        sentiment = s("sentiment", 16)
        if sentiment and sentiment not in SENTIMENTS:
            raise FilterError(f"sentiment: expected one of {', '.join(SENTIMENTS)}")
        market = s("market", 2)
        return cls(
            q=(args.get("q") or "").strip()[:MAX_QUERY_LEN],
            date_from=d("from"), date_to=d("to"), topic_id=i("topic", 1, 2**62),
            policy=s("policy"), market=market.upper() if market else None,
            channel=s("channel", 32), language=s("language", 8), sentiment=sentiment,
            csat_min=i("csat_min", 1, 5), csat_max=i("csat_max", 1, 5),
            escalated=None if esc is None else esc in ("yes", "true", "1"),
            source=s("source"), kind=s("kind", 16),
        )

    def to_args(self) -> dict[str, str]:
        """Query-string form (inverse of :meth:`from_args`), without empty fields."""
        names = {"date_from": "from", "date_to": "to", "topic_id": "topic"}
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or v == "":
                continue
            if isinstance(v, bool):
                v = "yes" if v else "no"
            out[names.get(f.name, f.name)] = str(v)
        return out

    @property
    def is_empty(self) -> bool:
        return not self.to_args()


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last row shown (newest first ordering)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.astimezone(UTC).isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """Parse a cursor string; FilterError when it was tampered with."""
        if not value:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            ts, _, ident = raw.partition("|")
            dt = datetime.fromisoformat(ts)
            return cls(dt if dt.tzinfo else dt.replace(tzinfo=UTC), int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise FilterError("cursor: invalid; start again from the first page") from None


@dataclass
class Page:
    """One page of results and the cursor of the next one (None on the last page)."""

    items: list[Feedback]
    next_cursor: str | None


def parse_terms(q: str) -> tuple[list[str], list[str]]:
    """Split a user query into (positive, negative) word/phrase terms.

    ``"late refund" courier -spam`` -> (["late refund", "courier"], ["spam"]). Terms keep
    only word characters, so FTS operators and quotes in user input have no effect.
    """
    pos: list[str] = []
    neg: list[str] = []
    for m in _TOKEN_RE.finditer(q or ""):
        minus = m.group(1) or m.group(3)
        words = _WORD_RE.findall(m.group(2) if m.group(2) is not None else m.group(4))
        if not words:
            continue
        term = " ".join(words)
        if term.upper() in ("AND", "OR", "NOT", "NEAR") and m.group(2) is None:
            continue  # bare operators are noise in a search box
        (neg if minus else pos).append(term)
    return pos[:MAX_TERMS], neg[:MAX_TERMS]


def fts5_query(q: str) -> str | None:
    """An FTS5 MATCH expression built from quoted terms only (None: nothing to search)."""
    pos, neg = parse_terms(q)
    if not pos:
        return None
    expr = " AND ".join(f'"{t}"' for t in pos)
    for t in neg:
        expr += f' NOT "{t}"'
    return expr


def pg_websearch(q: str) -> str | None:
    """A websearch_to_tsquery input rebuilt from clean terms (None: nothing to search)."""
    pos, neg = parse_terms(q)
    if not pos:
        return None
    parts = [f'"{t}"' if " " in t else t for t in pos] + \
            [f'-"{t}"' if " " in t else f"-{t}" for t in neg]
    return " ".join(parts)


def pg_text_match(session: Session, match: ColumnElement[bool]) -> ColumnElement[bool]:
    """``match`` (a ``@@`` on feedback.text) in the form PostgreSQL can serve from indexes.

    The GIN index covers enriched items only (migration 0008), and the planner uses a
    partial index only when the query implies its predicate. Usually nothing awaits
    enrichment (the enrich job runs every few minutes): then the match is limited to
    enriched items and the index serves it whole. With a backlog, one arm per half is
    combined with a BitmapOr (the backlog comes from the ``enriched_at`` b-tree); that
    form re-checks ``match`` on every row fetched, which costs about 15% on common words,
    so it is used only while there is a backlog (one index probe to find out). An item that
    arrives between the probe and the query is missed by that query only, as if it had
    arrived just after it. ``voc enrich --reset`` keeps items in the index (see
    :data:`voc.nlp.enrich.STALE`); a bulk import is searched through the slower arm until
    enrichment has caught up with it (measured: 100,000 waiting items among 1,000,000 add
    about 0.1 s to a search).
    """
    enriched = Feedback.enriched_at
    backlog = session.scalar(select(exists().where(enriched.is_(None))))
    if not backlog:
        return and_(enriched.is_not(None), match)
    return or_(and_(enriched.is_not(None), match), and_(enriched.is_(None), match))


def build_query(session: Session, filters: VerbatimFilters, tz: str = "UTC", *,
                topic_ids_for_policy: list[int] | None = None) -> Select:
    """SELECT of Feedback rows matching ``filters``, newest first (no limit)."""
    stmt = select(Feedback)
    # Items anonymised by retention have no text left to show or search.
    cond = [Feedback.text != EXPIRED_TEXT]
    f = filters
    dialect = session.get_bind().dialect.name
    if f.q:
        if dialect == "postgresql":
            ws = pg_websearch(f.q)
            if ws:
                tsv = func.to_tsvector(literal_column(f"'{TS_CONFIG}'::regconfig"), Feedback.text)
                tsq = func.websearch_to_tsquery(literal_column(f"'{TS_CONFIG}'::regconfig"), ws)
                cond.append(pg_text_match(session, tsv.op("@@")(tsq)))
        else:
            expr = fts5_query(f.q)
            if expr:
                cond.append(Feedback.id.in_(
                    select(literal_column("rowid")).select_from(text("feedback_fts"))
                    .where(text("feedback_fts MATCH :fts_q").bindparams(fts_q=expr))))
    zone = ZoneInfo(tz or "UTC")
    if f.date_from:
        cond.append(Feedback.created_at >= datetime.combine(f.date_from, time(), zone))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), zone)
        cond.append(Feedback.created_at < end)
    if f.topic_id:
        cond.append(Feedback.topic_id == f.topic_id)
    if f.policy:
        ids = topic_ids_for_policy if topic_ids_for_policy is not None else []
        cond.append(Feedback.topic_id.in_(ids) if ids else Feedback.id.is_(None))
    for value, col in ((f.market, Feedback.market), (f.channel, Feedback.channel),
                       (f.language, Feedback.language), (f.sentiment, Feedback.sentiment_label),
                       (f.kind, Feedback.kind)):
        if value:
            cond.append(col == value)
    if f.csat_min is not None:
        cond.append(Feedback.csat >= f.csat_min)
    if f.csat_max is not None:
        cond.append(Feedback.csat <= f.csat_max)
    if f.escalated is not None:
        cond.append(Feedback.escalated.is_(f.escalated))
    if f.source:
        cond.append(Feedback.source_id.in_(select(Source.id).where(Source.name == f.source)))
    if cond:
        stmt = stmt.where(and_(*cond))
    return stmt.order_by(Feedback.created_at.desc(), Feedback.id.desc())


def search_page(session: Session, filters: VerbatimFilters, *, tz: str = "UTC",
                cursor: Cursor | None = None, limit: int = 25,
                topic_ids_for_policy: list[int] | None = None) -> Page:
    """One page of matches after ``cursor`` (keyset on created_at, id; newest first)."""
    stmt = build_query(session, filters, tz, topic_ids_for_policy=topic_ids_for_policy)
    if filters.q and session.get_bind().dialect.name == "postgresql":
        stmt = _pg_plan_for_text_search(session, stmt)
    if cursor is not None:
        stmt = stmt.where(or_(Feedback.created_at < cursor.created_at,
                              and_(Feedback.created_at == cursor.created_at,
                                   Feedback.id < cursor.id)))
    rows = list(session.scalars(stmt.limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = Cursor(rows[-1].created_at, rows[-1].id).encode()
    return Page(items=rows, next_cursor=nxt)


#: Below this many estimated matches, fetching them all through the GIN index and sorting
#: beats walking the created_at index (which evaluates to_tsvector on every row it passes).
BITMAP_MAX_ROWS = 20000


def _pg_plan_for_text_search(session: Session, stmt: Select) -> Select:
    """Steer PostgreSQL between two plans for "newest matches first".

    Frequent words: walking ``ix_feedback_created_at`` backwards finds a page of matches
    after a few rows. Rare words: that walk evaluates ``to_tsvector`` on most of the table
    (seconds on a million rows), while the GIN index finds every match at once. The planner
    underrates ``to_tsvector``'s cost, so we ask it for its row estimate (bound parameters,
    planning only) and, when matches are few, order by an expression so that the index
    order cannot be used. Parallel workers are off: they only scan ahead on a busy server.
    """
    conn = session.connection()
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    compiled = stmt.order_by(None).compile(dialect=conn.dialect)
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                compiled.params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    estimate = plan[0]["Plan"].get("Plan Rows", 0)
    if estimate > BITMAP_MAX_ROWS:
        return stmt
    not_indexed = Feedback.created_at + literal_column("interval '0 seconds'")
    return stmt.order_by(None).order_by(not_indexed.desc(), Feedback.id.desc())


def iter_matches(session: Session, filters: VerbatimFilters, *, tz: str = "UTC",
                 topic_ids_for_policy: list[int] | None = None,
                 batch: int = 1000) -> Iterator[Feedback]:
    """Every match, streamed from the database in batches (for CSV export)."""
    stmt = build_query(session, filters, tz, topic_ids_for_policy=topic_ids_for_policy)
    result = session.scalars(stmt.execution_options(yield_per=batch))
    yield from result


def highlight(text_value: str, q: str) -> Markup:
    """Escape ``text_value`` and wrap the query's words in ``<mark>``.

    Matching happens on the raw text and each piece is escaped separately, so a term
    can never match inside an HTML entity and nothing the text contains can become markup.
    """
    pos, _ = parse_terms(q)
    words = sorted({w for t in pos for w in _WORD_RE.findall(t) if w}, key=len, reverse=True)
    if not words or not text_value:
        return Markup(escape(text_value or ""))
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*",
                         re.IGNORECASE | re.UNICODE)
    out, last = [], 0
    for m in pattern.finditer(text_value):
        out.append(str(escape(text_value[last:m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(str(escape(text_value[last:])))
    return Markup("".join(out))


def short_hash(value: str | None) -> str:
    """First characters of a customer hash: enough to spot repeats, never the full value."""
    return f"{value[:8]}…" if value else "–"


def csv_safe(value: Any) -> str:
    """A CSV cell that spreadsheets will not evaluate (formula injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    s = str(value)
    if s and s[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + s
    return s
