"""PostgreSQL full-text index: only enriched items (none of its work at ingestion)

The GIN index on ``to_tsvector('simple', text)`` took about 60% of the database's work per
imported row. Enrichment rewrites every row it scores (``enriched_at`` is indexed, so those
updates are never HOT) and re-inserted the row into every index, this one included, so each
item paid the full-text indexing twice. With the index limited to ``enriched_at IS NOT
NULL``, ingestion skips it and enrichment pays it once. Items awaiting enrichment are still
found: the search reaches them through ``ix_feedback_enriched_at`` (see web/search.py).

The planner ignores a partial index's statistics, so without more it would guess how many
items match a word (a fixed 0.5%) and fetch half a million rows for a common word instead
of walking the newest items: extended statistics on the same expression (PostgreSQL 14+)
give it the word frequencies back (ANALYZE samples them; nothing per row).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_GIN = "USING gin (to_tsvector('simple'::regconfig, text))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches its FTS5 table, kept by triggers (migration 0005)
    _swap_index(f"ON feedback {_GIN} WHERE enriched_at IS NOT NULL")
    op.execute("CREATE STATISTICS IF NOT EXISTS st_feedback_text_tsv "
               "ON (to_tsvector('simple'::regconfig, text)) FROM feedback")
    op.execute("ANALYZE feedback")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP STATISTICS IF EXISTS st_feedback_text_tsv")
    _swap_index(f"ON feedback {_GIN}")


def _swap_index(definition: str) -> None:
    """Replace ``ix_feedback_text_tsv`` by an index ``definition`` without blocking writes:
    built CONCURRENTLY beside the old one (outside the migration's transaction), then the
    old one dropped and the new one renamed. A leftover of an interrupted run is dropped
    first (a failed concurrent build leaves an invalid index behind)."""
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_feedback_text_tsv_next")
        op.execute(f"CREATE INDEX CONCURRENTLY ix_feedback_text_tsv_next {definition}")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_feedback_text_tsv")
    op.execute("ALTER INDEX ix_feedback_text_tsv_next RENAME TO ix_feedback_text_tsv")
