"""weekly rollups, flags, rankings, policies (insights)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voc.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _bigid():
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "insight_weeks",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("start_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("end_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("rolled_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("ranked_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_insight_weeks")),
    )
    op.create_table(
        "rollup_slices",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("market", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("sent_n", sa.Integer(), nullable=False),
        sa.Column("neg_n", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Float(), nullable=False),
        sa.Column("csat_sumsq", sa.Float(), nullable=False),
        sa.Column("esc_base", sa.Integer(), nullable=False),
        sa.Column("esc_n", sa.Integer(), nullable=False),
        sa.Column("res_base", sa.Integer(), nullable=False),
        sa.Column("res_n", sa.Integer(), nullable=False),
        sa.Column("sla_base", sa.Integer(), nullable=False),
        sa.Column("sla_n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "topic_id", "market", "channel", "kind",
                                name=op.f("pk_rollup_slices")),
    )
    with op.batch_alter_table("rollup_slices", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_slices_topic_week", ["topic_id", "week"], unique=False)

    op.create_table(
        "rankings",
        sa.Column("id", _bigid(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("topic_id", _bigid(), nullable=True),
        sa.Column("policy", sa.String(length=100), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("change", sa.Float(), nullable=True),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("negative_share", sa.Float(), nullable=True),
        sa.Column("csat", sa.Float(), nullable=True),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("flags", _json(), nullable=False),
        sa.Column("flag_details", _json(), nullable=False),
        sa.Column("markets", _json(), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("components", _json(), nullable=False),
        sa.Column("drivers", _json(), nullable=False),
        sa.Column("sparkline", _json(), nullable=False),
        sa.Column("rank_change", sa.Integer(), nullable=True),
        sa.Column("computed_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"],
                                name=op.f("fk_rankings_topic_id_topics"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rankings")),
    )
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.create_index("ix_rankings_week_scope_rank", ["week", "scope", "rank"],
                              unique=False)
        batch_op.create_index("ix_rankings_topic_week", ["topic_id", "week"], unique=False)

    op.create_table(
        "topic_policies",
        sa.Column("topic_id", _bigid(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("mapped_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"],
                                name=op.f("fk_topic_policies_topic_id_topics"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("topic_id", "policy", name=op.f("pk_topic_policies")),
    )
    with op.batch_alter_table("topic_policies", schema=None) as batch_op:
        batch_op.create_index("ix_topic_policies_policy", ["policy"], unique=False)

    op.create_table(
        "insight_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", _json(), nullable=False),
        sa.Column("updated_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_insight_state")),
    )


def downgrade() -> None:
    op.drop_table("insight_state")
    with op.batch_alter_table("topic_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_topic_policies_policy")
    op.drop_table("topic_policies")
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.drop_index("ix_rankings_topic_week")
        batch_op.drop_index("ix_rankings_week_scope_rank")
    op.drop_table("rankings")
    with op.batch_alter_table("rollup_slices", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_slices_topic_week")
    op.drop_table("rollup_slices")
    op.drop_table("insight_weeks")
