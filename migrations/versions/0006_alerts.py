"""subscriptions, alert state, deliveries (alerts)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voc.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope", _json(), nullable=False),
        sa.Column("condition", _json(), nullable=False),
        sa.Column("targets", _json(), nullable=False),
        sa.Column("quiet_hours", sa.Integer(), nullable=False),
        sa.Column("include_in_digest", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_evaluated_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_subscriptions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_subscriptions_user_id", ["user_id"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subscription_id", _ID, nullable=True),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("topic_id", _ID, nullable=True),
        sa.Column("week", sa.String(length=10), nullable=True),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("feedback_ids", _json(), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_alert_deliveries_subscription_id_subscriptions"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_alert_deliveries_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_alert_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_alert_deliveries_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_alert_deliveries_status_next", ["status", "next_attempt_at"],
                              unique=False)

    op.create_table(
        "alert_state",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_fired_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_week", sa.String(length=10), nullable=True),
        sa.Column("last_reason", sa.Text(), nullable=True),
        sa.Column("cursor", _ID, nullable=True),
        sa.Column("updated_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_alert_state_subscription_id_subscriptions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_state")),
        sa.UniqueConstraint("subscription_id", "key",
                            name=op.f("uq_alert_state_subscription_id_key")),
    )
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["alert_deliveries.id"],
            name=op.f("fk_alert_delivery_attempts_delivery_id_alert_deliveries"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
    )
    with op.batch_alter_table("alert_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_alert_delivery_attempts_delivery_id", ["delivery_id"],
                              unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("delivery_id", _ID, nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("topic_id", _ID, nullable=True),
        sa.Column("week", sa.String(length=10), nullable=True),
        sa.Column("examples", _json(), nullable=False),
        sa.Column("feedback_ids", _json(), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("read_at", voc.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["alert_deliveries.id"],
                                name=op.f("fk_notifications_delivery_id_alert_deliveries"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_read", ["user_id", "read_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_read")
    op.drop_table("notifications")
    with op.batch_alter_table("alert_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_delivery_attempts_delivery_id")
    op.drop_table("alert_delivery_attempts")
    op.drop_table("alert_state")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_deliveries_status_next")
        batch_op.drop_index("ix_alert_deliveries_created_at")
    op.drop_table("alert_deliveries")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_user_id")
    op.drop_table("subscriptions")
