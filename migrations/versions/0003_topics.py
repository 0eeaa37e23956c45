"""topic registry history and curation (topics)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voc.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assign_threshold", sa.Float(), nullable=True))

    op.create_table(
        "topic_refits",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("window_start", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("window_end", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("n_docs", sa.Integer(), nullable=False),
        sa.Column("n_clusters", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_refits")),
    )
    with op.batch_alter_table("topic_refits", schema=None) as batch_op:
        batch_op.create_index("ix_topic_refits_started_at", ["started_at"], unique=False)

    op.create_table(
        "topic_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("topic_id", _ID, nullable=False),
        sa.Column("at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("related_topic_id", _ID, nullable=True),
        sa.Column("refit_id", _ID, nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("details", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"],
                                name=op.f("fk_topic_events_topic_id_topics"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["related_topic_id"], ["topics.id"],
                                name=op.f("fk_topic_events_related_topic_id_topics"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["refit_id"], ["topic_refits.id"],
                                name=op.f("fk_topic_events_refit_id_topic_refits"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_events")),
    )
    with op.batch_alter_table("topic_events", schema=None) as batch_op:
        batch_op.create_index("ix_topic_events_topic_id_at", ["topic_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("topic_events", schema=None) as batch_op:
        batch_op.drop_index("ix_topic_events_topic_id_at")
    op.drop_table("topic_events")
    with op.batch_alter_table("topic_refits", schema=None) as batch_op:
        batch_op.drop_index("ix_topic_refits_started_at")
    op.drop_table("topic_refits")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("assign_threshold")
