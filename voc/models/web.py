"""API tokens, login attempts and the full-text index (owned by the dashboard work).

Full-text search is database specific and lives in migrations 0005 and 0008:
- SQLite: an FTS5 external-content table ``feedback_fts`` over ``feedback.text`` kept in
  sync by triggers (not a model: FTS5 virtual tables cannot be declared portably).
- PostgreSQL: a GIN index on ``to_tsvector('simple', text)`` of enriched items (migration
  0008: ingestion does none of its work, enrichment does it once), declared below for that
  dialect only so that autogenerate sees the models and the migrations agree. Searches
  reach items awaiting enrichment through ``ix_feedback_enriched_at`` (web/search.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Table, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from voc.models.base import Base, BigId, UTCDateTime, utcnow
from voc.models.feedback import Feedback

#: The text-search configuration: 'simple' (no stemming) works for every language we ingest.
TS_CONFIG = "simple"


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="default")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    prefix: Mapped[str] = mapped_column(String(12))  # first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """A failed login, keyed by a hash of (username, client address) for rate limiting.

    Stored in the database so that the limit holds across gunicorn workers; the key is
    a hash so that neither the username nor the address is kept in clear.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: PostgreSQL full-text index; created by migration 0005 on PostgreSQL only.
FEEDBACK_TSV_INDEX = Index(
    "ix_feedback_text_tsv",
    func.to_tsvector(literal_column(f"'{TS_CONFIG}'::regconfig"), Feedback.__table__.c.text),
    postgresql_using="gin",
    postgresql_where=Feedback.__table__.c.enriched_at.is_not(None),
).ddl_if(dialect="postgresql")
# Expression indexes are not attached to their table automatically; extend_existing adds it
# to the feedback table's metadata without touching the core model module.
Table("feedback", Base.metadata, FEEDBACK_TSV_INDEX, extend_existing=True)
