"""full-text search and API tokens (dashboard)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voc.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    # External-content FTS5 table: the index only, the text stays in feedback.
    "CREATE VIRTUAL TABLE feedback_fts USING fts5(text, content='feedback', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER feedback_fts_ai AFTER INSERT ON feedback BEGIN"
    " INSERT INTO feedback_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER feedback_fts_ad AFTER DELETE ON feedback BEGIN"
    " INSERT INTO feedback_fts(feedback_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER feedback_fts_au AFTER UPDATE OF text ON feedback BEGIN"
    " INSERT INTO feedback_fts(feedback_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " INSERT INTO feedback_fts(rowid, text) VALUES (new.id, new.text); END",
    # Index rows that existed before this revision.
    "INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_user_id", ["user_id"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", voc.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_at", ["key", "at"], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for stmt in _SQLITE_FTS:
            op.execute(stmt)
    elif dialect == "postgresql":
        op.execute("CREATE INDEX ix_feedback_text_tsv ON feedback "
                   "USING gin (to_tsvector('simple'::regconfig, text))")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("feedback_fts_au", "feedback_fts_ad", "feedback_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS feedback_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_feedback_text_tsv")

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_at")
    op.drop_table("login_attempts")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_user_id")
    op.drop_table("api_tokens")
